package io.kernels4j.ops.robustness;

import io.kernels4j.ops.CudaGraph;
import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.PinnedBuffer;
import io.kernels4j.ops.Stream;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

/**
 * Soak: every available op in a loop with random valid shapes for N seconds, checking that device
 * free memory and the host heap do not grow and that identical inputs keep giving identical
 * outputs (re-runs of earlier cases, bit for bit). Run by {@code SoakTest} (tag soak, GPU) or from
 * the command line: {@code bin/run-soak [seconds]} / {@code java ... io.kernels4j.ops.robustness.Soak 300}.
 */
public final class Soak {
    /** One op under soak: derives its shapes and inputs from {@code seed}, runs, returns a hash of the output. */
    public interface Op {
        String name();

        long run(long seed, Stream stream);
    }

    /** Ops that register with the soak: the core ones here, the families' in {@link SoakOps}. */
    public static List<Op> ops() {
        List<Op> ops = new ArrayList<>(coreOps());
        ops.addAll(SoakOps.familyOps());
        return ops;
    }

    public record Summary(long seconds, long iterations, long reruns, Map<String, Long> perOp, long freeMemStart,
            long freeMemEnd, long heapStart, long heapEnd, List<String> failures) {
        public boolean ok() {
            return failures.isEmpty();
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("kernels4j soak: ").append(seconds).append(" s, ").append(iterations)
                    .append(" op calls, ").append(reruns).append(" identical-input re-runs\n");
            perOp.forEach((k, v) -> sb.append("  ").append(k).append(": ").append(v).append('\n'));
            sb.append("  device free memory: start ").append(freeMemStart >> 20).append(" MiB, end ").append(freeMemEnd >> 20)
                    .append(" MiB\n  host heap used (after GC): start ").append(heapStart >> 20).append(" MiB, end ")
                    .append(heapEnd >> 20).append(" MiB\n");
            sb.append(ok() ? "  result: PASS" : "  result: FAIL\n    " + String.join("\n    ", failures));
            return sb.toString();
        }
    }

    /** Growth tolerated at the end: CUDA's allocator and the JIT keep some slack. */
    static final long DEVICE_SLACK = 64L << 20, HEAP_SLACK = 64L << 20;

    public static Summary run(long seconds, long seed, Device device) {
        List<Op> ops = ops();
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, Long> perOp = new LinkedHashMap<>();
        List<String> failures = new ArrayList<>();
        record Golden(Op op, long seed, long hash) {}
        List<Golden> goldens = new ArrayList<>();
        long iterations = 0, reruns = 0;
        try (Stream s = Stream.create(device)) {
            // Warm-up: module loading, first-use allocations, JIT.
            for (Op op : ops) for (int i = 0; i < 3; i++) op.run(rnd.nextLong(), s);
            s.synchronize();
            long free0 = device.freeMemory(), heap0 = usedHeap();
            long deadline = System.nanoTime() + seconds * 1_000_000_000L;
            while (System.nanoTime() < deadline && failures.size() < 20) {
                if (!goldens.isEmpty() && rnd.nextInt(8) == 0) {
                    Golden g = goldens.get(rnd.nextInt(goldens.size()));
                    long h = g.op().run(g.seed(), s);
                    reruns++;
                    if (h != g.hash()) failures.add(g.op().name() + ": seed " + g.seed() + " gave a different result on re-run");
                    continue;
                }
                Op op = ops.get(rnd.nextInt(ops.size()));
                long caseSeed = rnd.nextLong();
                long h;
                try {
                    h = op.run(caseSeed, s);
                } catch (RuntimeException e) {
                    failures.add(op.name() + ": seed " + caseSeed + ": " + e);
                    continue;
                }
                perOp.merge(op.name(), 1L, Long::sum);
                iterations++;
                if (goldens.size() < 64) goldens.add(new Golden(op, caseSeed, h));
            }
            int bits = s.deviceErrors();
            if (bits != 0) failures.add("device error word 0x" + Integer.toHexString(bits) + " after valid inputs only");
            long free1 = device.freeMemory(), heap1 = usedHeap();
            if (free0 - free1 > DEVICE_SLACK) failures.add("device free memory shrank by " + ((free0 - free1) >> 20) + " MiB");
            if (heap1 - heap0 > HEAP_SLACK) failures.add("host heap grew by " + ((heap1 - heap0) >> 20) + " MiB");
            return new Summary(seconds, iterations, reruns, perOp, free0, free1, heap0, heap1, failures);
        }
    }

    static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return rt.totalMemory() - rt.freeMemory();
    }

    /** CRC32C of a tensor's bytes (after the stream is synchronised). */
    public static long hash(DeviceTensor t, Stream s) {
        s.synchronize();
        CRC32C crc = new CRC32C();
        crc.update(t.toByteArray());
        return crc.getValue() ^ (t.byteSize() << 32);
    }

    static List<Op> coreOps() {
        return List.of(new Op() {
            public String name() { return "fill+slices"; }

            public long run(long seed, Stream s) {
                SplittableRandom r = new SplittableRandom(seed);
                DType[] fillable = {DType.BF16, DType.FP8_E4M3, DType.FP32, DType.INT32}; // fill takes 1-4 byte elements
                DType dt = fillable[r.nextInt(fillable.length)];
                long n = 1 + r.nextInt(1 << 20);
                try (DeviceTensor t = DeviceTensor.allocate(s.device(), dt, n)) {
                    t.fill(r.nextInt(), s);
                    for (int i = 0; i < 8; i++) {
                        long a = r.nextLong(n + 1), b = a + r.nextLong(n - a + 1);
                        t.slice(a, b).fill(r.nextInt(), s);
                    }
                    return hash(t, s);
                }
            }
        }, new Op() {
            public String name() { return "pinned H2D+D2D+D2H"; }

            public long run(long seed, Stream s) {
                SplittableRandom r = new SplittableRandom(seed);
                long n = 1 + r.nextInt(1 << 18);
                try (PinnedBuffer in = PinnedBuffer.allocate(n * 4); PinnedBuffer out = PinnedBuffer.allocate(n * 4);
                        DeviceTensor a = DeviceTensor.allocate(s.device(), DType.INT32, n);
                        DeviceTensor b = DeviceTensor.allocate(s.device(), DType.INT32, n)) {
                    for (long i = 0; i < n; i++) in.segment().setAtIndex(ValueLayout.JAVA_INT, i, r.nextInt());
                    a.copyFromHost(in.segment(), s);
                    b.copyFrom(a, s);
                    b.copyToHost(out.segment(), s);
                    s.synchronize();
                    if (in.segment().mismatch(out.segment()) != -1) throw new IllegalStateException("round trip changed the data");
                    return hash(b, s);
                }
            }
        }, new Op() {
            public String name() { return "graph replay"; }

            public long run(long seed, Stream s) {
                SplittableRandom r = new SplittableRandom(seed);
                long n = 1 + r.nextInt(1 << 16);
                int p1 = r.nextInt(), p2 = r.nextInt();
                try (DeviceTensor a = DeviceTensor.allocate(s.device(), DType.INT32, n);
                        DeviceTensor b = DeviceTensor.allocate(s.device(), DType.INT32, n);
                        CudaGraph g = CudaGraph.capture(s, () -> {
                            a.fill(p1, s);
                            b.copyFrom(a, s);
                            a.slice(0, n / 2).fill(p2, s);
                        })) {
                    g.launch(s);
                    g.launch(s);
                    return hash(a, s) * 31 + hash(b, s);
                }
            }
        });
    }

    public static void main(String[] args) {
        if (!io.kernels4j.ops.Cuda.isAvailable()) {
            System.err.println("kernels4j soak: no CUDA GPU available: " + io.kernels4j.ops.Cuda.availability().reason());
            System.exit(2);
        }
        long seconds = args.length > 0 ? Long.parseLong(args[0]) : Long.getLong("kernels4j.soak.seconds", 300);
        long seed = Long.getLong("kernels4j.seed", System.nanoTime());
        System.out.println("[seed] soak: " + seed);
        Summary s = run(seconds, seed, Device.get(0));
        System.out.println(s);
        System.exit(s.ok() ? 0 : 1);
    }
}
