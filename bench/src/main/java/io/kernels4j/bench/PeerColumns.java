package io.kernels4j.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How a benchmark reports its peer (another implementation timed on the same shapes in the same run,
 * e.g. cuBLASLt for GEMM) in {@link BenchResult#extra()}, so that report writers and
 * {@link io.kernels4j.bench.report.Plots} read it the same way:
 * <ul>
 *   <li>{@value #PEER}: the peer's name, e.g. {@code cuBLASLt 13.0.0};</li>
 *   <li>{@value #PEER_MS}: the peer's median time in ms; {@value #PEER_SPREAD} its spread;</li>
 *   <li>{@value #RATIO}: ours / theirs at the median (below 1 means we are faster);</li>
 *   <li>{@value #DIFF}: optional agreement of the two outputs (docs/CONTRACT.md's {@code diff});</li>
 *   <li>{@value #SKIPPED}: instead of the above, why the peer did not run (one line).</li>
 * </ul>
 */
public final class PeerColumns {
    public static final String PEER = "peer";
    public static final String PEER_MS = "peerMedianMs";
    public static final String PEER_SPREAD = "peerSpread";
    public static final String RATIO = "oursOverPeer";
    public static final String DIFF = "peerDiff";
    public static final String SKIPPED = "peerSkipped";

    private PeerColumns() {}

    /** Columns for a peer that ran; {@code diff} may be null when outputs were not compared. */
    public static Map<String, Object> of(String peer, Timing ours, Timing theirs, Double diff) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(PEER, peer);
        m.put(PEER_MS, theirs.medianMs());
        m.put(PEER_SPREAD, theirs.spread());
        m.put(RATIO, ours.medianMs() / theirs.medianMs());
        if (diff != null) m.put(DIFF, diff);
        return m;
    }

    /** Columns for a peer that could not run, with the one-line reason. */
    public static Map<String, Object> skipped(String peer, String reason) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(PEER, peer);
        m.put(SKIPPED, reason);
        return m;
    }

    /** The peer's median in ms, or NaN when the result carries none. */
    public static double peerMs(BenchResult r) {
        return r.extra().get(PEER_MS) instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    /** The peer's name, or null. */
    public static String peerName(BenchResult r) {
        return r.extra().get(PEER) instanceof String s ? s : null;
    }
}
