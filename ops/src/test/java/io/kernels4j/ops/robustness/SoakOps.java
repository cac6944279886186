package io.kernels4j.ops.robustness;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.gemm.Fp8Gemm;
import io.kernels4j.ops.gemm.Fp8Quantize;
import io.kernels4j.ops.moe.MoeCombine;
import io.kernels4j.ops.moe.MoeDispatch;
import io.kernels4j.ops.moe.MoeLayout;
import io.kernels4j.ops.moe.SiluAndMul;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

/** Family ops under soak, each deriving a random valid problem from its seed. */
final class SoakOps {
    private SoakOps() {}

    static List<Soak.Op> familyOps() {
        List<Soak.Op> ops = new ArrayList<>();
        ops.add(new Soak.Op() {
            public String name() { return "MLA cache write + schedule + decode"; }

            public long run(long seed, Stream s) {
                SplittableRandom r = new SplittableRandom(seed);
                Device d = s.device();
                int B = MlaConcurrencyGpuTest.B, SQ = MlaConcurrencyGpuTest.SQ, HQ = MlaConcurrencyGpuTest.HQ;
                int PAGE = MlaConcurrencyGpuTest.PAGE, MAXB = MlaConcurrencyGpuTest.MAXB, TOKENS = MlaConcurrencyGpuTest.TOKENS;
                int[] slotIds = new int[TOKENS];
                for (int i = 0; i < TOKENS; i++) slotIds[i] = i;
                int[] table = new int[B * MAXB];
                for (int i = 0; i < table.length; i++) table[i] = r.nextInt(MlaConcurrencyGpuTest.BLOCKS);
                int[] seqlens = new int[B];
                for (int i = 0; i < B; i++) seqlens[i] = r.nextInt(MAXB * PAGE + 1);
                try (DeviceTensor kvNew = DeviceTensor.allocate(d, DType.BF16, TOKENS, 1, 576);
                        DeviceTensor slots = DeviceTensor.allocate(d, DType.INT32, TOKENS);
                        DeviceTensor q = DeviceTensor.allocate(d, DType.BF16, B, SQ, HQ, 576);
                        DeviceTensor bt = DeviceTensor.allocate(d, DType.INT32, B, MAXB);
                        DeviceTensor sl = DeviceTensor.allocate(d, DType.INT32, B)) {
                    kvNew.copyFrom(MlaBadDataGpuTest.randomBf16(r, TOKENS * 576));
                    q.copyFrom(MlaBadDataGpuTest.randomBf16(r, B * SQ * HQ * 576));
                    slots.copyFrom(slotIds);
                    bt.copyFrom(table);
                    sl.copyFrom(seqlens);
                    short[] out = MlaConcurrencyGpuTest.step(kvNew, slots, q, bt, sl, r.nextBoolean(), r.nextInt(3) == 0 ? 1 + r.nextInt(8) : 0, s);
                    CRC32C crc = new CRC32C();
                    for (short v : out) {
                        crc.update(v & 0xFF);
                        crc.update((v >> 8) & 0xFF);
                    }
                    return crc.getValue();
                }
            }
        });
        ops.add(new Soak.Op() {
            public String name() { return "FP8 quantize (1x128) + dense GEMM"; }

            public long run(long seed, Stream s) {
                SplittableRandom r = new SplittableRandom(seed);
                Device d = s.device();
                int m = 1 + r.nextInt(512), n = 8 * (1 + r.nextInt(64)), k = 16 * (1 + r.nextInt(48));
                int kb = (k + 127) / 128;
                try (DeviceTensor x = DeviceTensor.allocate(d, DType.BF16, m, k);
                        DeviceTensor a = DeviceTensor.allocate(d, DType.FP8_E4M3, m, k);
                        DeviceTensor as = DeviceTensor.allocate(d, DType.FP32, kb, (m + 3) / 4 * 4);
                        DeviceTensor b = DeviceTensor.allocate(d, DType.FP8_E4M3, n, k);
                        DeviceTensor bs = DeviceTensor.allocate(d, DType.FP32, (n + 127) / 128, kb);
                        DeviceTensor out = DeviceTensor.allocate(d, r.nextBoolean() ? DType.BF16 : DType.FP32, m, n)) {
                    x.copyFrom(MlaBadDataGpuTest.randomBf16(r, m * k));
                    b.copyFrom(GemmBadDataGpuTest.fp8(r, n * k));
                    bs.copyFrom(GemmBadDataGpuTest.scales((int) bs.numel()));
                    Fp8Quantize.perTokenGroup(x, a, as, r.nextBoolean(), s);
                    Fp8Gemm.dense(a, as, b, bs, null, out, s);
                    return Soak.hash(a, s) * 31 + Soak.hash(out, s);
                }
            }
        });
        ops.add(new Soak.Op() {
            public String name() { return "MoE layout + dispatch + SiLU-and-mul + combine"; }

            public long run(long seed, Stream s) {
                SplittableRandom r = new SplittableRandom(seed);
                Device d = s.device();
                int t = 1 + r.nextInt(256), k = 1 + r.nextInt(8), e = 1 + r.nextInt(64), h = 256, align = 1 << r.nextInt(8);
                int[] ids = new int[t * k];
                for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(8) == 0 ? -1 : r.nextInt(e);
                float[] w = new float[t * k];
                for (int i = 0; i < w.length; i++) w[i] = (float) r.nextDouble();
                long cap = MoeLayout.maxPaddedRows(t, k, e, align);
                try (DeviceTensor x = DeviceTensor.allocate(d, DType.BF16, t, h);
                        DeviceTensor topk = DeviceTensor.allocate(d, DType.INT32, t, k);
                        DeviceTensor wt = DeviceTensor.allocate(d, DType.FP32, t, k);
                        DeviceTensor nte = DeviceTensor.allocate(d, DType.INT32, e);
                        DeviceTensor off = DeviceTensor.allocate(d, DType.INT32, e + 1);
                        DeviceTensor rowOf = DeviceTensor.allocate(d, DType.INT32, t, k);
                        DeviceTensor work = DeviceTensor.allocate(d, DType.INT32, MoeBadDataGpuTest.ws(t, k, e));
                        DeviceTensor xOut = DeviceTensor.allocate(d, DType.BF16, cap, h);
                        DeviceTensor mIdx = DeviceTensor.allocate(d, DType.INT32, cap);
                        DeviceTensor act = DeviceTensor.allocate(d, DType.FP8_E4M3, cap, h / 2);
                        DeviceTensor actScales = DeviceTensor.allocate(d, DType.FP32, h / 2 / 128, (cap + 3) / 4 * 4);
                        DeviceTensor out = DeviceTensor.allocate(d, DType.BF16, t, h)) {
                    x.copyFrom(MlaBadDataGpuTest.randomBf16(r, t * h));
                    topk.copyFrom(ids);
                    wt.copyFrom(w);
                    xOut.fill(0, s); // padding rows hold zeros, not stale data
                    act.fill(0, s);
                    actScales.fill(0, s);
                    MoeLayout.compute(topk, e, align, nte, off, null, rowOf, work, s);
                    MoeDispatch.contiguous(x, rowOf, nte, off, xOut, null, false, mIdx, s);
                    SiluAndMul.contiguous(xOut, mIdx, act, actScales, r.nextBoolean(), s);
                    MoeCombine.contiguous(xOut, rowOf, wt, out, s);
                    return Soak.hash(rowOf, s) * 31 + Soak.hash(act, s) * 17 + Soak.hash(out, s);
                }
            }
        });
        return ops;
    }
}
