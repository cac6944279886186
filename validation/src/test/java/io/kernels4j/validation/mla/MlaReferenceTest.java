package io.kernels4j.validation.mla;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kernels4j.ops.host.Bf16;
import io.kernels4j.validation.RandomTensors;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** CPU tests of {@link MlaReference}: against a naive unpaged attention, and the FP8 cache path. */
class MlaReferenceTest {
    static final int DIM = 576, VDIM = 512;

    /** A paged problem built from per-request contiguous keys, with shuffled pages and poisoned leftovers. */
    record Paged(short[] q, short[][] keys, short[] cache, int[] blockTable, int maxBlocks, int pageSize, int hKV,
            int[] seqlens, int sQ, int hQ) {}

    static Paged build(long seed, int[] seqlens, int sQ, int hQ, int hKV, int pageSize) {
        int b = seqlens.length;
        int maxBlocks = 1;
        int pagesNeeded = 0;
        for (int s : seqlens) {
            maxBlocks = Math.max(maxBlocks, (s + pageSize - 1) / pageSize + 1);
            pagesNeeded += (s + pageSize - 1) / pageSize;
        }
        int numBlocks = pagesNeeded + 3;
        int[] perm = RandomTensors.permutation(seed ^ 1, numBlocks);
        short[] cache = new short[numBlocks * pageSize * hKV * DIM];
        Arrays.fill(cache, Bf16.NAN); // every slot no request may read stays NaN
        int[] table = RandomTensors.uniformInts(seed ^ 2, b * maxBlocks, Integer.MIN_VALUE / 2, Integer.MAX_VALUE / 2);
        short[][] keys = new short[b][];
        int next = 0;
        for (int r = 0; r < b; r++) {
            keys[r] = seqlens[r] == 0 ? new short[0] : RandomTensors.normalBf16(seed ^ (100 + r), seqlens[r] * hKV * DIM, 1.0);
            for (int blk = 0; blk < (seqlens[r] + pageSize - 1) / pageSize; blk++) table[r * maxBlocks + blk] = perm[next++];
            for (int j = 0; j < seqlens[r]; j++) {
                int page = table[r * maxBlocks + j / pageSize];
                System.arraycopy(keys[r], j * hKV * DIM, cache, ((page * pageSize + j % pageSize) * hKV) * DIM, hKV * DIM);
            }
        }
        short[] q = RandomTensors.normalBf16(seed ^ 3, b * sQ * hQ * DIM, 1.0);
        return new Paged(q, keys, cache, table, maxBlocks, pageSize, hKV, seqlens, sQ, hQ);
    }

    /** Textbook two-pass softmax attention over each request's contiguous keys. */
    static MlaReference.Result naive(Paged p, double scale, boolean causal) {
        int b = p.seqlens.length, hPer = p.hQ / p.hKV;
        double[] out = new double[b * p.sQ * p.hQ * VDIM], lse = new double[b * p.hQ * p.sQ];
        for (int r = 0; r < b; r++)
            for (int i = 0; i < p.sQ; i++)
                for (int h = 0; h < p.hQ; h++) {
                    int kvh = h / hPer;
                    int n = causal && p.sQ > 1 ? Math.max(0, p.seqlens[r] - (p.sQ - 1 - i)) : p.seqlens[r];
                    int qb = ((r * p.sQ + i) * p.hQ + h) * DIM;
                    double[] s = new double[n];
                    double mx = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) {
                        double d = 0;
                        for (int k = 0; k < DIM; k++)
                            d += (double) Bf16.decode(p.q[qb + k]) * Bf16.decode(p.keys[r][(j * p.hKV + kvh) * DIM + k]);
                        s[j] = d * scale;
                        mx = Math.max(mx, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < n; j++) sum += Math.exp(s[j] - mx);
                    int ob = ((r * p.sQ + i) * p.hQ + h) * VDIM;
                    for (int j = 0; j < n; j++) {
                        double w = Math.exp(s[j] - mx) / sum;
                        for (int d = 0; d < VDIM; d++) out[ob + d] += w * Bf16.decode(p.keys[r][(j * p.hKV + kvh) * DIM + d]);
                    }
                    lse[(r * p.hQ + h) * p.sQ + i] = n == 0 ? Double.POSITIVE_INFINITY : mx + Math.log(sum);
                }
        return new MlaReference.Result(out, lse);
    }

    static MlaReference.Result ref(Paged p, double scale, boolean causal) {
        return MlaReference.decode(p.q, MlaReference.Cache.bf16(p.cache), p.pageSize, p.hKV, p.blockTable, p.maxBlocks,
                p.seqlens, p.sQ, p.hQ, scale, causal);
    }

    static void assertClose(MlaReference.Result want, MlaReference.Result got) {
        for (int i = 0; i < want.out().length; i++)
            assertEquals(want.out()[i], got.out()[i], 1e-12, "out[" + i + "]");
        for (int i = 0; i < want.lse().length; i++) {
            if (Double.isInfinite(want.lse()[i])) assertEquals(want.lse()[i], got.lse()[i], "lse[" + i + "]");
            else assertEquals(want.lse()[i], got.lse()[i], 1e-11, "lse[" + i + "]");
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 1, 16, false", "1, 4, 2, 16, false", "2, 4, 2, 16, true", "2, 3, 1, 32, true", "2, 2, 2, 64, false",
            "3, 2, 1, 16, true"})
    void pagedMatchesNaive(int sQ, int hQ, int hKV, int pageSize, boolean causal) {
        long seed = System.nanoTime();
        Paged p = build(seed, new int[] {0, 1, 37, 65, 16}, sQ, hQ, hKV, pageSize);
        MlaReference.Result got = ref(p, 0.1352338, causal);
        assertClose(naive(p, 0.1352338, causal), got);
        for (double v : got.out()) assertTrue(!Double.isNaN(v), "NaN leaked from an unused cache slot (seed " + seed + ")");
    }

    @Test
    void emptyRequestGivesZeroAndInfiniteLse() {
        Paged p = build(7, new int[] {0, 5}, 1, 2, 1, 16);
        MlaReference.Result r = ref(p, 0.5, false);
        for (int d = 0; d < 2 * VDIM; d++) assertEquals(0.0, r.out()[d]);
        assertEquals(Double.POSITIVE_INFINITY, r.lse()[0]);
        assertEquals(Double.POSITIVE_INFINITY, r.lse()[1]);
        assertTrue(Double.isFinite(r.lse()[2]));
    }

    @Test
    void causalEndAlignedFirstTokenSeesOneKeyLess() {
        // seqlen 1, sQ 2: token 0 sees nothing, token 1 sees key 0 -> out = v0, lse = scale * q.k0.
        Paged p = build(11, new int[] {1}, 2, 1, 1, 16);
        double scale = 0.25;
        MlaReference.Result r = ref(p, scale, true);
        assertEquals(Double.POSITIVE_INFINITY, r.lse()[0]);
        double dot = 0;
        for (int k = 0; k < DIM; k++) dot += (double) Bf16.decode(p.q[DIM + k]) * Bf16.decode(p.keys[0][k]);
        assertEquals(scale * dot, r.lse()[1], 1e-12);
        for (int d = 0; d < VDIM; d++) {
            assertEquals(0.0, r.out()[d]);
            assertEquals(Bf16.decode(p.keys[0][d]), r.out()[VDIM + d], 1e-15);
        }
    }

    @Test
    void shuffledTablesDoNotChangeTheResult() {
        long seed = 99;
        Paged a = build(seed, new int[] {40, 70}, 1, 2, 1, 16);
        // Same keys, different page permutation.
        Paged b = build(seed, new int[] {40, 70}, 1, 2, 1, 16);
        int[] table = b.blockTable.clone();
        short[] cache = b.cache.clone();
        Arrays.fill(cache, Bf16.NAN);
        int numBlocks = cache.length / (16 * DIM);
        int[] perm = RandomTensors.permutation(seed + 12345, numBlocks);
        for (int r = 0; r < 2; r++)
            for (int blk = 0; blk < (b.seqlens[r] + 15) / 16; blk++) {
                int oldPage = b.blockTable[r * b.maxBlocks + blk], newPage = perm[oldPage];
                table[r * b.maxBlocks + blk] = newPage;
                System.arraycopy(b.cache, oldPage * 16 * DIM, cache, newPage * 16 * DIM, 16 * DIM);
            }
        Paged c = new Paged(b.q, b.keys, cache, table, b.maxBlocks, 16, 1, b.seqlens, 1, 2);
        MlaReference.Result ra = ref(a, 0.3, false), rc = ref(c, 0.3, false);
        assertTrue(Arrays.equals(ra.out(), rc.out()) && Arrays.equals(ra.lse(), rc.lse()));
    }

    @Test
    void fp8CacheReferenceUsesDequantisedRows() {
        long seed = System.nanoTime();
        Paged p = build(seed, new int[] {3, 33}, 1, 2, 1, 16);
        int rows = p.cache.length / DIM;
        byte[] fp8 = new byte[rows * MlaFp8Row.ROW_BYTES];
        short[] deq = new short[p.cache.length];
        double[] tmp = new double[DIM];
        for (int row = 0; row < rows; row++) {
            MlaFp8Row.encode(p.cache, row * DIM, fp8, row * MlaFp8Row.ROW_BYTES);
            MlaFp8Row.decode(fp8, row * MlaFp8Row.ROW_BYTES, tmp);
            for (int k = 0; k < DIM; k++) {
                short bits = Bf16.encode((float) tmp[k]);
                if (!Double.isNaN(tmp[k])) assertEquals(tmp[k], Bf16.decode(bits), 0.0, "dequantised value not exact in BF16");
                deq[row * DIM + k] = bits;
            }
        }
        MlaReference.Result a = MlaReference.decode(p.q, MlaReference.Cache.fp8(fp8), 16, 1, p.blockTable, p.maxBlocks,
                p.seqlens, 1, 2, 0.2, false);
        MlaReference.Result b = MlaReference.decode(p.q, MlaReference.Cache.bf16(deq), 16, 1, p.blockTable, p.maxBlocks,
                p.seqlens, 1, 2, 0.2, false);
        assertTrue(Arrays.equals(a.out(), b.out()) && Arrays.equals(a.lse(), b.lse()), "seed " + seed);
        // Quantisation error is bounded: each e4m3 value is within 2^-4 relative (or the subnormal step).
        MlaReference.Result exact = ref(p, 0.2, false);
        double maxErr = 0;
        for (int i = 0; i < a.out().length; i++) maxErr = Math.max(maxErr, Math.abs(a.out()[i] - exact.out()[i]));
        assertTrue(maxErr < 0.5, "fp8 reference too far from bf16 reference: " + maxErr);
    }
}
