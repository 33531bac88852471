package dev.loglane.connect.common;

import org.apache.kafka.connect.errors.ConnectException;

/**
 * Exponential backoff: attempt {@code n} (0-based retry number) waits {@code min(max, initial * 2^n)} ms.
 */
public final class Backoff {

    /** Sleeps; replaced by a recording fake in tests. */
    @FunctionalInterface
    public interface Sleeper {
        void sleep(long millis) throws InterruptedException;

        Sleeper THREAD = Thread::sleep;

        /**
         * Waits before a retry; an interrupt (the task is being stopped) ends the retrying as a
         * ConnectException naming {@code what}, with the thread's interrupt flag kept.
         */
        default void pause(long millis, String what) {
            if (millis <= 0) {
                return;
            }
            try {
                sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new ConnectException("Interrupted while waiting to retry " + what, e);
            }
        }
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
