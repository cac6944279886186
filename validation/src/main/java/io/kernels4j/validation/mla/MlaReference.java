package io.kernels4j.validation.mla;

import io.kernels4j.ops.host.Bf16;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * FP64 reference of MLA decoding over a paged cache (docs/CONTRACT.md section 3), parallel over (request, KV head).
 * Same inputs as the op: {@code q [b, sQ, hQ, 576]} BF16 bits, the cache as a {@link Cache} of rows
 * {@code [numBlocks, pageSize, hKV]} (BF16 or dequantised FP8), {@code blockTable [b, maxBlocksPerSeq]},
 * {@code seqlens [b]}. Scores {@code scale * q . k} over 576 values, V = the first 512; causal with
 * {@code sQ > 1} end-aligned; no visible key gives out = 0, lse = +inf. Only the block-table entries of keys
 * below a request's seqlen are read.
 */
public final class MlaReference {
    /** Values of a query or key row (512 latent + 64 RoPE). */
    public static final int DIM = 576;
    /** Values of a value row and of an output row (the latent part of the key). */
    public static final int VDIM = 512;

    private MlaReference() {}

    /** Row source: row {@code (page * pageSize + offset) * hKV + head}, 576 values. */
    public interface Cache {
        /**
         * Reads one row.
         *
         * @param row the row index
         * @param dst receives its 576 values
         */
        void row(long row, double[] dst);

        /**
         * A BF16 cache.
         *
         * @param cache BF16 bits {@code [numBlocks, pageSize, hKV, 576]}
         * @return its rows
         */
        static Cache bf16(short[] cache) {
            return (row, dst) -> {
                int base = Math.toIntExact(row * DIM);
                for (int k = 0; k < DIM; k++) dst[k] = Bf16.decode(cache[base + k]);
            };
        }

        /**
         * An FP8 cache, dequantised row by row ({@link MlaFp8Row#decode}).
         *
         * @param cache {@code [numBlocks, pageSize, hKV, 656]} bytes
         * @return its rows
         */
        static Cache fp8(byte[] cache) {
            return (row, dst) -> MlaFp8Row.decode(cache, Math.toIntExact(row * MlaFp8Row.ROW_BYTES), dst);
        }
    }

    /**
     * {@code out [b, sQ, hQ, 512]}, {@code lse [b, hQ, sQ]} (natural log).
     *
     * @param out {@code [b, sQ, hQ, 512]} attention outputs
     * @param lse {@code [b, hQ, sQ]} log-sum-exp of the scaled scores, +inf where no key is visible
     */
    public record Result(double[] out, double[] lse) {}

    /**
     * Decodes in FP64.
     *
     * @param q BF16 bits {@code [b, sQ, hQ, 576]}
     * @param cache the cache rows
     * @param pageSize the tokens per page
     * @param hKV the KV heads ({@code hQ} a multiple of it)
     * @param blockTable {@code [b, maxBlocksPerSeq]}: the page of each block of each request
     * @param maxBlocksPerSeq the block-table entries per request
     * @param seqlens {@code [b]}: the keys of each request
     * @param sQ the query tokens per request
     * @param hQ the query heads
     * @param scale the softmax scale applied to {@code q . k}
     * @param causal whether queries with {@code sQ > 1} are masked causally (end-aligned)
     * @return out and lse
     */
    public static Result decode(
short[] q, Cache cache, int pageSize, int hKV, int[] blockTable, int maxBlocksPerSeq,
            int[] seqlens, int sQ, int hQ, double scale, boolean causal) {
        int b = seqlens.length;
        int hPer = hQ / hKV;
        double[] out = new double[b * sQ * hQ * VDIM];
        double[] lse = new double[b * hQ * sQ];
        IntStream.range(0, b * hKV).parallel().forEach(task -> {
            int r = task / hKV, kvh = task % hKV;
            int rows = sQ * hPer;
            double[][] qr = new double[rows][DIM];
            int[] lim = new int[rows];
            for (int m = 0; m < rows; m++) {
                int i = m / hPer, h = kvh * hPer + m % hPer;
                int base = ((r * sQ + i) * hQ + h) * DIM;
                for (int k = 0; k < DIM; k++) qr[m][k] = Bf16.decode(q[base + k]);
                lim[m] = causal && sQ > 1 ? Math.max(0, seqlens[r] - (sQ - 1 - i)) : seqlens[r];
            }
            double[] mx = new double[rows];
            double[] l = new double[rows];
            double[][] acc = new double[rows][VDIM];
            Arrays.fill(mx, Double.NEGATIVE_INFINITY);
            double[] kv = new double[DIM];
            for (int j = 0; j < seqlens[r]; j++) {
                int page = blockTable[r * maxBlocksPerSeq + j / pageSize];
                cache.row(((long) page * pageSize + j % pageSize) * hKV + kvh, kv);
                for (int m = 0; m < rows; m++) {
                    if (j >= lim[m]) continue;
                    double s = 0;
                    for (int k = 0; k < DIM; k++) s += qr[m][k] * kv[k];
                    s *= scale;
                    if (s > mx[m]) {
                        double a = Math.exp(mx[m] - s);
                        l[m] *= a;
                        for (int d = 0; d < VDIM; d++) acc[m][d] *= a;
                        mx[m] = s;
                    }
                    double p = Math.exp(s - mx[m]);
                    l[m] += p;
                    for (int d = 0; d < VDIM; d++) acc[m][d] += p * kv[d];
                }
            }
            for (int m = 0; m < rows; m++) {
                int i = m / hPer, h = kvh * hPer + m % hPer;
                int ob = ((r * sQ + i) * hQ + h) * VDIM;
                if (l[m] > 0) for (int d = 0; d < VDIM; d++) out[ob + d] = acc[m][d] / l[m];
                lse[(r * hQ + h) * sQ + i] = l[m] > 0 ? mx[m] + Math.log(l[m]) : Double.POSITIVE_INFINITY;
            }
        });
        return new Result(out, lse);
    }
}
