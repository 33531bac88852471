package dev.loglane.connect.common;

import org.apache.kafka.common.config.AbstractConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;

import java.util.Map;

/** The retry and timeout keys every loglane HTTP sink shares, defined and read in one place. */
public abstract class RetryingHttpConfig extends AbstractConfig {

    public static final String MAX_RETRIES = "max.retries";
    public static final String RETRY_BACKOFF_MS = "retry.backoff.ms";
    public static final String RETRY_BACKOFF_MAX_MS = "retry.backoff.max.ms";
    public static final String REQUEST_TIMEOUT_MS = "request.timeout.ms";

    /** Adds the shared keys to a connector's definition; the docs say what is retried and timed. */
    protected static ConfigDef withRetryKeys(ConfigDef def, String retriesDoc, String timeoutDoc) {
        return def
                .define(MAX_RETRIES, Type.INT, 5, Range.atLeast(0), Importance.MEDIUM, retriesDoc)
                .define(RETRY_BACKOFF_MS, Type.LONG, 500L, Range.atLeast(0), Importance.LOW,
                        "Wait before the first retry; doubled on every further retry up to retry.backoff.max.ms.")
                .define(RETRY_BACKOFF_MAX_MS, Type.LONG, 10_000L, Range.atLeast(0), Importance.LOW,
                        "Upper bound of the exponential retry backoff.")
                .define(REQUEST_TIMEOUT_MS, Type.INT, 30_000, Range.atLeast(1), Importance.LOW, timeoutDoc);
    }

    protected RetryingHttpConfig(ConfigDef def, Map<?, ?> props) {
        super(def, props);
    }

    public int maxRetries() {
        return getInt(MAX_RETRIES);
    }

    public long retryBackoffMs() {
        return getLong(RETRY_BACKOFF_MS);
    }

    public long retryBackoffMaxMs() {
        return getLong(RETRY_BACKOFF_MAX_MS);
    }

    public int requestTimeoutMs() {
        return getInt(REQUEST_TIMEOUT_MS);
    }
}
