package dev.loglane.connect;

import dev.loglane.connect.opensearch.OpenSearchSinkConfig;
import dev.loglane.connect.opensearch.OpenSearchSinkConnector;
import dev.loglane.connect.opensearch.OpenSearchSinkTask;
import dev.loglane.connect.s3.S3SinkConfig;
import dev.loglane.connect.s3.S3SinkConnector;
import dev.loglane.connect.s3.S3SinkTask;
import org.apache.kafka.common.config.Config;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigValue;
import org.apache.kafka.connect.sink.SinkConnector;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConnectorsTest {

    static Map<String, String> osProps() {
        Map<String, String> p = new HashMap<>();
        p.put("opensearch.urls", "http://127.0.0.1:9200");
        p.put("index.pattern", "logs-{yyyy.MM.dd}");
        p.put("document.id.field", "event_id");
        return p;
    }

    static Map<String, String> s3Props() {
        Map<String, String> p = new HashMap<>();
        p.put("s3.endpoint", "http://127.0.0.1:9000");
        p.put("s3.bucket", "logs");
        p.put("s3.access.key.id", "AK");
        p.put("s3.secret.access.key", "SK");
        return p;
    }

    @Test
    void versionIsTheProjectVersion() {
        String expected = System.getProperty("project.version", "0.1.0");
        assertEquals("0.1.0", expected);
        assertEquals(expected, Version.get());
        assertEquals(expected, new OpenSearchSinkConnector().version());
        assertEquals(expected, new OpenSearchSinkTask().version());
        assertEquals(expected, new S3SinkConnector().version());
        assertEquals(expected, new S3SinkTask().version());
    }

    @Test
    void connectorsAreDiscoverableWithServiceLoader() {
        Set<String> found = new HashSet<>();
        for (SinkConnector c : ServiceLoader.load(SinkConnector.class)) {
            found.add(c.getClass().getName());
        }
        assertEquals(new HashSet<>(Arrays.asList(OpenSearchSinkConnector.class.getName(),
                S3SinkConnector.class.getName())), found);
    }

    @Test
    void openSearchKeysAndDefaults() {
        OpenSearchSinkConnector c = new OpenSearchSinkConnector();
        assertEquals(new HashSet<>(Arrays.asList("opensearch.urls", "opensearch.username", "opensearch.password",
                "index.pattern", "index.timestamp.field", "document.id.field", "max.retries", "retry.backoff.ms",
                "retry.backoff.max.ms", "request.timeout.ms", "bulk.max.actions")), c.config().names());
        OpenSearchSinkConfig config = new OpenSearchSinkConfig(osProps());
        assertEquals(5, config.maxRetries());
        assertEquals(500L, config.retryBackoffMs());
        assertEquals(10_000L, config.retryBackoffMaxMs());
        assertEquals(30_000, config.requestTimeoutMs());
        assertEquals(1000, config.bulkMaxActions());
        assertEquals("", config.username());
        assertEquals("", config.timestampField());
        assertEquals(org.apache.kafka.common.config.ConfigDef.Type.PASSWORD,
                c.config().configKeys().get("opensearch.password").type);
        c.config().configKeys().values().forEach(k ->
                assertTrue(k.documentation != null && !k.documentation.isEmpty(), k.name));

        c.start(osProps());
        List<Map<String, String>> tasks = c.taskConfigs(3);
        assertEquals(3, tasks.size());
        assertEquals(osProps(), tasks.get(2));
        assertEquals(OpenSearchSinkTask.class, c.taskClass());
        c.stop();
    }

    @Test
    void openSearchRequiredKeysAndValidation() {
        for (String key : new String[]{"opensearch.urls", "index.pattern", "document.id.field"}) {
            Map<String, String> p = osProps();
            p.remove(key);
            ConfigException e = assertThrows(ConfigException.class, () -> new OpenSearchSinkConnector().start(p));
            assertTrue(e.getMessage().contains(key), e.getMessage());
        }
        Map<String, String> p = osProps();
        p.put("opensearch.urls", "http://admin:hunter2@127.0.0.1:9200");
        Config result = new OpenSearchSinkConnector().validate(p);
        ConfigValue urls = result.configValues().stream().filter(v -> v.name().equals("opensearch.urls")).findFirst()
                .orElseThrow();
        assertFalse(urls.errorMessages().isEmpty());
        assertFalse(urls.errorMessages().toString().contains("hunter2"), urls.errorMessages().toString());

        p.put("opensearch.urls", "ftp://127.0.0.1");
        assertThrows(ConfigException.class, () -> new OpenSearchSinkConfig(p));
        p.put("opensearch.urls", "http://127.0.0.1:9200");
        p.put("bulk.max.actions", "0");
        assertThrows(ConfigException.class, () -> new OpenSearchSinkConfig(p));
    }

    @Test
    void s3KeysAndDefaults() {
        S3SinkConnector c = new S3SinkConnector();
        assertEquals(new HashSet<>(Arrays.asList("s3.endpoint", "s3.region", "s3.bucket", "s3.access.key.id",
                "s3.secret.access.key", "s3.prefix", "partition.timestamp.field", "flush.size", "rotate.interval.ms",
                "max.retries", "retry.backoff.ms", "retry.backoff.max.ms", "request.timeout.ms")), c.config().names());
        S3SinkConfig config = new S3SinkConfig(s3Props());
        assertEquals("us-east-1", config.region());
        assertEquals("", config.prefix());
        assertEquals("", config.timestampField());
        assertEquals(10_000, config.flushSize());
        assertEquals(60_000L, config.rotateIntervalMs());
        assertEquals(5, config.maxRetries());
        assertEquals(500L, config.retryBackoffMs());
        assertEquals(10_000L, config.retryBackoffMaxMs());
        assertEquals(30_000, config.requestTimeoutMs());
        assertEquals(org.apache.kafka.common.config.ConfigDef.Type.PASSWORD,
                c.config().configKeys().get("s3.secret.access.key").type);
        c.config().configKeys().values().forEach(k ->
                assertTrue(k.documentation != null && !k.documentation.isEmpty(), k.name));
        c.start(s3Props());
        assertEquals(2, c.taskConfigs(2).size());
        assertEquals(S3SinkTask.class, c.taskClass());
    }

    @Test
    void s3RequiredKeysAndValidation() {
        for (String key : new String[]{"s3.endpoint", "s3.bucket", "s3.access.key.id", "s3.secret.access.key"}) {
            Map<String, String> p = s3Props();
            p.remove(key);
            ConfigException e = assertThrows(ConfigException.class, () -> new S3SinkConnector().start(p));
            assertTrue(e.getMessage().contains(key), e.getMessage());
        }
        for (String[] bad : new String[][]{{"s3.endpoint", "127.0.0.1:9000"}, {"s3.bucket", "a/b"},
                {"s3.prefix", "/abs"}, {"flush.size", "0"}, {"rotate.interval.ms", "-2"}}) {
            Map<String, String> p = s3Props();
            p.put(bad[0], bad[1]);
            assertThrows(ConfigException.class, () -> new S3SinkConfig(p), String.join("=", bad));
        }
        List<String> errors = new S3SinkConnector().validate(s3Props()).configValues().stream()
                .flatMap(v -> v.errorMessages().stream()).collect(Collectors.toList());
        assertEquals(List.of(), errors);
    }
}
