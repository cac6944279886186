package io.kernels4j.bench;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Event;
import io.kernels4j.ops.Stream;

/**
 * The timing core (SPEC.md section 5): CUDA events around the launched region, warm-up first, an
 * L2 flush (a write of twice the L2 size) before every timed run, and the median and spread of at
 * least {@code runs} runs. Events are recorded for all runs first and read once at the end, so the
 * host never stalls the GPU between runs.
 */
public final class KernelTimer implements AutoCloseable {
    private final Stream stream;
    private final BenchOptions options;
    private final DeviceTensor flush;
    private final Event[] starts;
    private final Event[] ends;

    public KernelTimer(Device device, Stream stream, BenchOptions options) {
        this.stream = stream;
        this.options = options;
        int runs = Math.max(1, options.runs());
        long flushWords = Math.max(1, 2 * device.l2CacheBytes() / 4);
        this.flush = options.flushL2() ? DeviceTensor.allocate(device, DType.INT32, flushWords) : null;
        this.starts = new Event[runs];
        this.ends = new Event[runs];
        for (int i = 0; i < runs; i++) {
            starts[i] = Event.create();
            ends[i] = Event.create();
        }
    }

    /** Times {@code launch} (which only enqueues work on the stream). */
    public Timing time(Runnable launch) {
        for (int i = 0; i < options.warmup(); i++) launch.run();
        stream.synchronize();
        double[] ms = new double[starts.length];
        for (int i = 0; i < starts.length; i++) {
            flushL2(i);
            starts[i].record(stream);
            launch.run();
            ends[i].record(stream);
        }
        stream.synchronize();
        for (int i = 0; i < starts.length; i++) ms[i] = starts[i].elapsedMillis(ends[i]);
        return Timing.of(ms);
    }

    /** Overwrites the whole L2 with unrelated data so that no run finds its inputs cached. */
    public void flushL2(int salt) {
        if (flush != null) flush.fill(0x5A5A5A5A ^ salt, stream);
    }

    public Stream stream() {
        return stream;
    }

    @Override
    public void close() {
        for (Event e : starts) if (e != null) e.close();
        for (Event e : ends) if (e != null) e.close();
        if (flush != null) flush.close();
    }
}
