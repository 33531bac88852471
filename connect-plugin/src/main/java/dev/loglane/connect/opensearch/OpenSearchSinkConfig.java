package dev.loglane.connect.opensearch;

import dev.loglane.connect.common.RetryingHttpConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.types.Password;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Configuration of {@link OpenSearchSinkConnector}. */
public final class OpenSearchSinkConfig extends RetryingHttpConfig {

    public static final String URLS = "opensearch.urls";
    public static final String USERNAME = "opensearch.username";
    public static final String PASSWORD = "opensearch.password";
    public static final String INDEX_PATTERN = "index.pattern";
    public static final String INDEX_TIMESTAMP_FIELD = "index.timestamp.field";
    public static final String DOCUMENT_ID_FIELD = "document.id.field";
    public static final String BULK_MAX_ACTIONS = "bulk.max.actions";

    public static final ConfigDef CONFIG_DEF = withRetryKeys(new ConfigDef()
            .define(URLS, Type.LIST, ConfigDef.NO_DEFAULT_VALUE, new UrlListValidator(), Importance.HIGH,
                    "Comma-separated OpenSearch base URLs, e.g. http://127.0.0.1:9200. Requests go to one URL at a "
                            + "time; the next URL is used after a failed attempt.")
            .define(USERNAME, Type.STRING, "", Importance.MEDIUM,
                    "User for HTTP basic authentication. Empty disables authentication.")
            .define(PASSWORD, Type.PASSWORD, "", Importance.MEDIUM,
                    "Password for HTTP basic authentication. Never logged.")
            .define(INDEX_PATTERN, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new IndexPatternValidator(),
                    Importance.HIGH,
                    "Target index name. Text inside braces is a java.time DateTimeFormatter pattern rendered in UTC "
                            + "from the event time, e.g. logs-{yyyy.MM.dd}. Text outside braces is literal.")
            .define(INDEX_TIMESTAMP_FIELD, Type.STRING, "", Importance.MEDIUM,
                    "Value field holding the event time (Connect Timestamp / java.util.Date, epoch millis, or an "
                            + "ISO-8601 string). Dots address nested fields. If empty, or the field is missing or null "
                            + "in a record, the Kafka record timestamp is used.")
            .define(DOCUMENT_ID_FIELD, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(),
                    Importance.HIGH,
                    "Value field whose value (string or integer) becomes the document _id, making writes "
                            + "idempotent. Dots address nested fields.")
            .define(BULK_MAX_ACTIONS, Type.INT, 1000, Range.between(1, 100_000), Importance.LOW,
                    "Maximum number of documents per _bulk request; larger batches are split."),
            "Retries of a bulk request (or of its retriable items) after a transient failure: I/O error, "
                    + "HTTP 429 or 5xx, item status 429/502/503/504. When exhausted, the task fails.",
            "Connect timeout and per-request response timeout of HTTP calls, in milliseconds.");

    public OpenSearchSinkConfig(Map<?, ?> props) {
        super(CONFIG_DEF, props);
    }

    public List<URI> urls() {
        List<URI> out = new ArrayList<>();
        for (String u : getList(URLS)) {
            String trimmed = u.trim();
            while (trimmed.endsWith("/")) {
                trimmed = trimmed.substring(0, trimmed.length() - 1);
            }
            out.add(URI.create(trimmed));
        }
        return out;
    }

    public String username() {
        return getString(USERNAME);
    }

    public Password password() {
        return getPassword(PASSWORD);
    }

    public IndexNameRenderer indexRenderer() {
        return IndexNameRenderer.parse(getString(INDEX_PATTERN));
    }

    public String timestampField() {
        return getString(INDEX_TIMESTAMP_FIELD).trim();
    }

    public String idField() {
        return getString(DOCUMENT_ID_FIELD).trim();
    }

    public int bulkMaxActions() {
        return getInt(BULK_MAX_ACTIONS);
    }

    static final class UrlListValidator implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            @SuppressWarnings("unchecked")
            List<String> urls = (List<String>) value;
            if (urls == null || urls.isEmpty()) {
                throw new ConfigException(name, value, "At least one URL is required");
            }
            for (String u : urls) {
                try {
                    URI uri = URI.create(u.trim());
                    String scheme = uri.getScheme();
                    if (scheme == null || !(scheme.equalsIgnoreCase("http") || scheme.equalsIgnoreCase("https"))
                            || uri.getHost() == null) {
                        throw new ConfigException(name, u, "Expected an http:// or https:// URL with a host");
                    }
                    if (uri.getRawUserInfo() != null) {
                        // do not echo the value: it contains credentials
                        throw new ConfigException("Invalid value for configuration " + name
                                + ": URL must not contain credentials (use opensearch.username/opensearch.password)");
                    }
                    if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
                        throw new ConfigException(name, u, "URL must not contain a query or fragment");
                    }
                } catch (IllegalArgumentException e) {
                    // the parser's message echoes the input, which might embed credentials: keep it out
                    throw new ConfigException("Invalid value for configuration " + name + ": not a valid URL");
                }
            }
        }

        @Override
        public String toString() {
            return "comma-separated http(s) URLs";
        }
    }

    static final class IndexPatternValidator implements ConfigDef.Validator {
        @Override
        public void ensureValid(String name, Object value) {
            try {
                IndexNameRenderer.parse((String) value);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(name, value, e.getMessage());
            }
        }

        @Override
        public String toString() {
            return "literal text with {DateTimeFormatter} sections, e.g. logs-{yyyy.MM.dd}";
        }
    }
}
