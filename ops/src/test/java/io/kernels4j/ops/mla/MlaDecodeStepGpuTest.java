package io.kernels4j.ops.mla;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.kernels4j.ops.CudaGraph;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Scope;
import io.kernels4j.ops.Stream;
import io.kernels4j.ops.host.Bf16;
import io.kernels4j.ops.mla.MlaDecodeConfig.CacheFormat;
import io.kernels4j.ops.testing.RequiresGpu;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * MlaDecodeStep on a GPU: plan + forward give MlaDecode.schedule + forward's result bit for bit,
 * and a CUDA graph of a whole step (plan, two layers) replays it bit for bit. (Numerics against
 * FP64: the mla checks and the MlaDecodeExample.)
 */
@RequiresGpu
class MlaDecodeStepGpuTest {
    @Test
    void matchesTheOpsAndReplaysInAGraph() {
        int batch = 3, sQ = 2, hQ = 16, hKV = 1, page = 64, maxBlocks = 4, blocks = batch * maxBlocks;
        SplittableRandom r = new SplittableRandom(9);
        int[] lens = {1, 100, 256};
        int[] bt = new int[batch * maxBlocks];
        for (int i = 0; i < bt.length; i++) bt[i] = (i * 5) % blocks;
        short[] q = new short[batch * sQ * hQ * 576], kv = new short[blocks * page * hKV * 576];
        for (int i = 0; i < q.length; i++) q[i] = Bf16.encode((float) r.nextGaussian());
        for (int i = 0; i < kv.length; i++) kv[i] = Bf16.encode((float) r.nextGaussian());
        float scale = 0.07f;
        try (Scope s = Scope.open(); Stream st = Stream.create();
                MlaDecodeStep step = MlaDecodeStep.create(MlaDecodeConfig.of(batch, sQ, hQ, hKV, page, maxBlocks, CacheFormat.BF16),
                        Device.current())) {
            DeviceTensor dq = s.allocate(DType.BF16, batch, sQ, hQ, 576), dkv = s.allocate(DType.BF16, blocks, page, hKV, 576);
            DeviceTensor dbt = s.allocate(DType.INT32, batch, maxBlocks), dl = s.allocate(DType.INT32, batch);
            dq.copyFrom(q);
            dkv.copyFrom(kv);
            dbt.copyFrom(bt);
            dl.copyFrom(lens);
            DeviceTensor[] out = new DeviceTensor[3], lse = new DeviceTensor[3];
            for (int i = 0; i < 3; i++) {
                out[i] = s.allocate(DType.BF16, batch, sQ, hQ, 512);
                lse[i] = s.allocate(DType.FP32, batch, hQ, sQ);
            }
            // The ops by hand.
            int sms = step.numSms();
            DeviceTensor sched = s.allocate(DType.INT32, MlaDecode.scheduleInts(batch, sms, 0));
            DeviceTensor ws = s.allocate(DType.FP32, MlaDecode.workspaceBytes(batch, sQ, hQ, sms, 0) / 4);
            MlaDecode.Schedule plan = MlaDecode.schedule(dl, page, maxBlocks, sms, 0, sched, st);
            MlaDecode.forward(dq, dkv, dbt, dl, plan, scale, true, ws, out[0], lse[0], st);
            // The step object, eagerly and in a graph.
            step.plan(dl, st);
            step.forward(dq, dkv, dbt, dl, out[1], lse[1], scale, true, st);
            try (CudaGraph g = CudaGraph.capture(st, () -> {
                step.plan(dl, st);
                step.forward(dq, dkv, dbt, dl, out[2], lse[2], scale, true, st);
            })) {
                g.launch(st);
            }
            st.synchronize();
            st.checkDeviceErrors();
            short[] o0 = out[0].toShortArray();
            float[] l0 = lse[0].toFloatArray();
            assertArrayEquals(o0, out[1].toShortArray(), "step vs ops: out");
            assertArrayEquals(l0, lse[1].toFloatArray(), "step vs ops: lse");
            assertArrayEquals(o0, out[2].toShortArray(), "graph replay: out");
            assertArrayEquals(l0, lse[2].toFloatArray(), "graph replay: lse");
        }
    }
}
