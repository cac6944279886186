package io.kernels4j.ops;

import static io.kernels4j.bindings.cuda.CudaRuntime.*;
import static java.lang.foreign.ValueLayout.ADDRESS;

import io.kernels4j.ops.internal.Checks;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A captured and instantiated CUDA graph. Every kernels4j op is capturable (no host syncs, no
 * allocation): capture a decode step once, {@link #launch} it every step.
 * <pre>{@code
 * try (CudaGraph g = CudaGraph.capture(stream, () -> { op1(...); op2(...); })) {
 *     g.launch(stream);
 * }
 * }</pre>
 * The graph holds the device addresses its ops were captured with: keep those tensors open while
 * it is launched. Closing it while another thread launches it is safe (destroyed after the launch).
 */
public final class CudaGraph implements AutoCloseable {
    private final MemorySegment graph;
    private final MemorySegment exec;
    private final Lifetime life;

    private CudaGraph(MemorySegment graph, MemorySegment exec) {
        this.graph = graph;
        this.exec = exec;
        this.life = new Lifetime("CUDA graph", this::destroy);
    }

    /**
     * Records what {@code body} enqueues on {@code stream} (not executed) and instantiates it.
     *
     * @param stream the stream to capture on (its device runs the graph)
     * @param body the ops to record, queued on {@code stream}
     * @return the instantiated graph
     */
    public static CudaGraph capture(Stream stream, Runnable body) {
        Checks.requireNonNull(stream, "stream");
        Checks.requireNonNull(body, "body");
        stream.activate();
        Stream.endOp();
        Cuda.check(cudaStreamBeginCapture(stream.handle(), cudaStreamCaptureModeThreadLocal()), "cudaStreamBeginCapture");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pGraph = a.allocate(ADDRESS);
            RuntimeException failure = null;
            try {
                body.run();
            } catch (RuntimeException | Error e) {
                failure = e instanceof RuntimeException r ? r : new IllegalStateException(e);
            }
            int err = cudaStreamEndCapture(stream.handle(), pGraph);
            MemorySegment graph = pGraph.get(ADDRESS, 0);
            if (failure != null || err != 0) {
                if (graph.address() != 0) cudaGraphDestroy(graph);
                cudaGetLastError();
                if (failure != null) throw failure;
                Cuda.check(err, "cudaStreamEndCapture");
            }
            MemorySegment pExec = a.allocate(ADDRESS);
            int ierr = cudaGraphInstantiate(pExec, graph, 0L);
            if (ierr != 0) {
                cudaGraphDestroy(graph);
                Cuda.check(ierr, "cudaGraphInstantiate");
            }
            return new CudaGraph(graph, pExec.get(ADDRESS, 0));
        }
    }

    /**
     * Enqueues one replay of the graph on {@code stream}.
     *
     * @param stream the stream to launch on
     */
    public void launch(Stream stream) {
        Checks.requireNonNull(stream, "stream");
        if (!life.tryRetain()) throw new IllegalStateException("graph used after close");
        try {
            stream.activate();
            Cuda.check(cudaGraphLaunch(exec, stream.handle()), "cudaGraphLaunch");
        } finally {
            Stream.endOp();
            life.release();
        }
    }

    /** {@return whether {@link #close()} was called} */
    public boolean isClosed() {
        return life.isClosed();
    }

    @Override
    public void close() {
        if (life.close()) destroy();
    }

    private void destroy() {
        int e1 = cudaGraphExecDestroy(exec);
        int e2 = cudaGraphDestroy(graph);
        Cuda.check(e1 != 0 ? e1 : e2, "CudaGraph.close");
    }
}
