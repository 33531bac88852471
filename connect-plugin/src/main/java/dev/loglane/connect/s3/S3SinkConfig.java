package dev.loglane.connect.s3;

import dev.loglane.connect.common.RetryingHttpConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

import java.net.URI;
import java.util.Map;

/** Configuration of {@link S3SinkConnector}. */
public final class S3SinkConfig extends RetryingHttpConfig {

    public static final String ENDPOINT = "s3.endpoint";
    public static final String REGION = "s3.region";
    public static final String BUCKET = "s3.bucket";
    public static final String ACCESS_KEY_ID = "s3.access.key.id";
    public static final String SECRET_ACCESS_KEY = "s3.secret.access.key";
    public static final String PREFIX = "s3.prefix";
    public static final String PARTITION_TIMESTAMP_FIELD = "partition.timestamp.field";
    public static final String FLUSH_SIZE = "flush.size";
    public static final String ROTATE_INTERVAL_MS = "rotate.interval.ms";

    public static final ConfigDef CONFIG_DEF = withRetryKeys(new ConfigDef()
            .define(ENDPOINT, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new EndpointValidator(), Importance.HIGH,
                    "S3-compatible endpoint base URL, e.g. http://127.0.0.1:9000. Objects are written path-style: "
                            + "{endpoint}/{bucket}/{key}.")
            .define(REGION, Type.STRING, "us-east-1", new ConfigDef.NonEmptyString(), Importance.MEDIUM,
                    "Region used in the SigV4 credential scope.")
            .define(BUCKET, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new BucketValidator(), Importance.HIGH,
                    "Bucket to write to. It must already exist.")
            .define(ACCESS_KEY_ID, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(),
                    Importance.HIGH, "Access key id used to sign requests.")
            .define(SECRET_ACCESS_KEY, Type.PASSWORD, ConfigDef.NO_DEFAULT_VALUE, Importance.HIGH,
                    "Secret access key used to sign requests. Never logged.")
            .define(PREFIX, Type.STRING, "", new PrefixValidator(), Importance.MEDIUM,
                    "Prepended verbatim to every object key (include a trailing '/' to get a folder), e.g. raw/.")
            .define(PARTITION_TIMESTAMP_FIELD, Type.STRING, "", Importance.MEDIUM,
                    "Value field holding the event time that selects the year/month/day/hour path (Connect "
                            + "Timestamp / java.util.Date, epoch millis, or an ISO-8601 string). Dots address nested "
                            + "fields. If empty, or missing or null in a record, the Kafka record timestamp is used.")
            .define(FLUSH_SIZE, Type.INT, 10_000, Range.atLeast(1), Importance.MEDIUM,
                    "Maximum records per object. When an open file reaches it, the files of that topic-partition "
                            + "are uploaded.")
            .define(ROTATE_INTERVAL_MS, Type.LONG, 60_000L, Range.atLeast(-1), Importance.MEDIUM,
                    "An open file older than this (wall clock, since its first record) is uploaded, together with "
                            + "the other open files of its topic-partition, on the next put or offset commit. "
                            + "-1 disables time-based rotation."),
            "Retries of an upload after a transient failure (I/O error, HTTP 429 or 5xx). When exhausted, "
                    + "the task fails.",
            "Connect timeout and per-request response timeout of uploads, in milliseconds.");

    public S3SinkConfig(Map<?, ?> props) {
        super(CONFIG_DEF, props);
    }

    public URI endpoint() {
        String e = getString(ENDPOINT).trim();
        while (e.endsWith("/")) {
            e = e.substring(0, e.length() - 1);
        }
        return URI.create(e);
    }

    public String region() {
        return getString(REGION).trim();
    }

    public String bucket() {
        return getString(BUCKET).trim();
    }

    public String accessKeyId() {
        return getString(ACCESS_KEY_ID).trim();
    }

    public Password secretAccessKey() {
        return getPassword(SECRET_ACCESS_KEY);
    }

    public String prefix() {
        return getString(PREFIX);
    }

    public String timestampField() {
        return getString(PARTITION_TIMESTAMP_FIELD).trim();
    }

    public int flushSize() {
        return getInt(FLUSH_SIZE);
    }

    public long rotateIntervalMs() {
        return getLong(ROTATE_INTERVAL_MS);
    }

    static final class EndpointValidator implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            String s = value == null ? "" : ((String) value).trim();
            URI uri;
            try {
                uri = URI.create(s);
            } catch (IllegalArgumentException e) {
                throw new ConfigException("Invalid value for configuration " + name + ": not a valid URL");
            }
            String scheme = uri.getScheme();
            if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
                    || uri.getHost() == null) {
                throw new ConfigException(name, value, "Expected an http:// or https:// URL with a host");
            }
            if (uri.getRawUserInfo() != null || uri.getRawQuery() != null || uri.getRawFragment() != null) {
                throw new ConfigException("Invalid value for configuration " + name
                        + ": the endpoint must not contain credentials, a query or a fragment");
            }
        }

        @Override
        public String toString() {
            return "http(s) URL";
        }
    }

    static final class BucketValidator implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            String s = value == null ? "" : ((String) value).trim();
            if (s.isEmpty() || s.contains("/")) {
                throw new ConfigException(name, value, "Bucket name must be non-empty and contain no '/'");
            }
        }

        @Override
        public String toString() {
            return "bucket name";
        }
    }

    static final class PrefixValidator implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            String s = value == null ? "" : (String) value;
            if (s.startsWith("/")) {
                throw new ConfigException(name, value, "Prefix must not start with '/'");
            }
        }

        @Override
        public String toString() {
            return "key prefix not starting with '/'";
        }
    }
}
