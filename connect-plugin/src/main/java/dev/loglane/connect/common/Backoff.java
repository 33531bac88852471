package dev.loglane.connect.common;

/**
 * Exponential backoff: attempt {@code n} (0-based retry number) waits {@code min(max, initial * 2^n)} ms.
 */
public final class Backoff {

    /** Sleeps; replaced by a recording fake in tests. */
    @FunctionalInterface
    public interface Sleeper {
        void sleep(long millis) throws InterruptedException;

        Sleeper THREAD = Thread::sleep;
    }

    private final long initialMs;
    private final long maxMs;

    public Backoff(long initialMs, long maxMs) {
        if (initialMs < 0 || maxMs < 0) {
            throw new IllegalArgumentException("backoff must be >= 0");
        }
        this.initialMs = initialMs;
        this.maxMs = Math.max(initialMs, maxMs);
    }

    /** Delay before retry number {@code retry} (0 for the first retry). */
    public long delayMs(int retry) {
        if (initialMs == 0) {
            return 0;
        }
        int shift = Math.min(retry, 30);
        long d = initialMs << shift;
        if (d < 0 || (d >> shift) != initialMs) { // overflow
            return maxMs;
        }
        return Math.min(maxMs, d);
    }
}
