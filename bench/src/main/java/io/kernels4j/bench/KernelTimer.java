package io.kernels4j.bench;

import io.kernels4j.ops.DType;
import io.kernels4j.ops.Device;
import io.kernels4j.ops.DeviceTensor;
import io.kernels4j.ops.Event;
import io.kernels4j.ops.Stream;
import java.util.function.IntConsumer;

/**
 * The timing core (docs/CONTRACT.md section 5): CUDA events around the launched region, warm-up first, an
 * L2 flush (a write of twice the L2 size) before every timed run, and the median and spread of at
 * least {@code runs} runs. Events are recorded for all runs first and read once at the end, so the
 * host never stalls the GPU between runs.
 *
 * <p>When a case's inputs are small enough to sit in L2, the flush alone still leaves the first
 * touch of the just-flushed lines cheaper than a real cold read would be on a busy model, and the
 * inputs of back-to-back warm-up runs stay resident. {@link #time(int, IntConsumer)} therefore also
 * rotates over several copies of the inputs ({@link #rotationSets} says how many), so that
 * consecutive runs never read the same bytes.
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

    /**
     * Times {@code launchWithSet}, which enqueues one run reading input set {@code set}
     * ({@code 0 <= set < sets}). Warm-up and timed run {@code i} use set {@code i % sets}; the L2
     * flush (when enabled) still precedes every timed run.
     */
    public Timing time(int sets, IntConsumer launchWithSet) {
        if (sets < 1) throw new IllegalArgumentException("sets: must be >= 1, got " + sets);
        int warm = Math.max(options.warmup(), sets); // touch every set once before timing
        for (int i = 0; i < warm; i++) launchWithSet.accept(i % sets);
        stream.synchronize();
        double[] ms = new double[starts.length];
        for (int i = 0; i < starts.length; i++) {
            flushL2(i);
            starts[i].record(stream);
            launchWithSet.accept(i % sets);
            ends[i].record(stream);
        }
        stream.synchronize();
        for (int i = 0; i < starts.length; i++) ms[i] = starts[i].elapsedMillis(ends[i]);
        return Timing.of(ms);
    }

    /**
     * How many input sets {@link #time(int, IntConsumer)} should rotate over: 1 when one set of
     * {@code inputBytes} does not fit in twice the L2 ({@code l2Bytes}), else enough sets to cover
     * three times the L2 (at most {@code maxSets}), so no run finds its inputs left over from the
     * previous one.
     */
    public static int rotationSets(long inputBytes, long l2Bytes, int maxSets) {
        if (inputBytes <= 0) throw new IllegalArgumentException("inputBytes: must be > 0, got " + inputBytes);
        if (maxSets < 1) throw new IllegalArgumentException("maxSets: must be >= 1, got " + maxSets);
        if (l2Bytes <= 0 || inputBytes >= 2 * l2Bytes) return 1;
        long sets = (3 * l2Bytes + inputBytes - 1) / inputBytes;
        return (int) Math.max(2, Math.min(maxSets, sets));
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
