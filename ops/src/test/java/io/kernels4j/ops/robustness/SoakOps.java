package io.kernels4j.ops.robustness;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Stream;
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
        return ops;
    }
}
