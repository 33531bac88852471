package dev.loglane.connect.it;

import dev.loglane.connect.TestSupport;
import dev.loglane.connect.TestSupport.FakeContext;
import dev.loglane.connect.TestSupport.RecordingReporter;
import dev.loglane.connect.common.JsonReader;
import dev.loglane.connect.opensearch.OpenSearchSinkTask;
import dev.loglane.connect.s3.S3SinkTask;
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Optional checks against services that are already running (never started by the build). Not part of the default
 * test run; invoke explicitly, e.g.
 * {@code mvn -B test -Dtest=LiveServicesIT -Dloglane.it.opensearch.url=http://127.0.0.1:9200}
 * and/or {@code -Dloglane.it.s3.endpoint=http://127.0.0.1:9000 -Dloglane.it.s3.bucket=... -Dloglane.it.s3.access.key=...
 * -Dloglane.it.s3.secret.key=...}. Only loopback endpoints are accepted.
 */
class LiveServicesIT {

    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    static String loopbackProperty(String name) {
        String v = System.getProperty(name, "").trim();
        Assumptions.assumeFalse(v.isEmpty(), name + " not set");
        String host = URI.create(v).getHost();
        Assumptions.assumeTrue("127.0.0.1".equals(host) || "localhost".equals(host), "not a loopback URL: " + v);
        return v;
    }

    static SinkRecord record(long offset, String id, Object count) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("event_id", id);
        v.put("@timestamp", "2024-05-01T10:15:00.000Z");
        v.put("count", count);
        v.put("message", "live test " + offset);
        return TestSupport.record("loglane-it", 0, offset, null, v, Instant.now().toEpochMilli());
    }

    static HttpResponse<String> call(String method, String url, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30));
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void openSearchIndexesIdempotentlyAndReportsMappingErrors() throws Exception {
        String url = loopbackProperty("loglane.it.opensearch.url");
        String index = "loglane-connect-it-" + System.nanoTime();
        Map<String, String> props = new HashMap<>();
        props.put("opensearch.urls", url);
        props.put("index.pattern", index + "-{yyyy.MM.dd}");
        props.put("index.timestamp.field", "@timestamp");
        props.put("document.id.field", "event_id");
        props.put("max.retries", "2");
        RecordingReporter reporter = new RecordingReporter();
        OpenSearchSinkTask task = new OpenSearchSinkTask();
        task.initialize(new FakeContext(reporter));
        task.start(props);
        String concrete = index + "-2024.05.01";
        try {
            List<SinkRecord> batch = List.of(record(0, "a", 1), record(1, "b", 2), record(2, "c", "not-a-number"));
            task.put(batch);
            task.put(batch); // replay: same ids overwrite, no duplicates
            assertEquals(2, reporter.reported.size(), "the bad document is reported on each attempt");
            String msg = reporter.reported.get(0).error.getMessage();
            assertTrue(msg.contains("mapper_parsing_exception") || msg.contains("illegal_argument_exception"), msg);
            assertTrue(msg.contains("index=" + concrete) && msg.contains("id=c"), msg);

            call("POST", url + "/" + concrete + "/_refresh", null);
            Map<?, ?> count = (Map<?, ?>) JsonReader.parse(call("GET", url + "/" + concrete + "/_count", null).body());
            assertEquals(2L, count.get("count"));
            Map<?, ?> doc = (Map<?, ?>) JsonReader.parse(call("GET", url + "/" + concrete + "/_doc/b", null).body());
            assertEquals("live test 1", ((Map<?, ?>) doc.get("_source")).get("message"));
        } finally {
            task.stop();
            try {
                call("DELETE", url + "/" + concrete, null);
            } catch (Exception e) {
                System.err.println("could not delete test index " + concrete + ": " + e);
            }
        }
    }

    @Test
    void s3UploadIsAccepted() throws Exception {
        String endpoint = loopbackProperty("loglane.it.s3.endpoint");
        Map<String, String> props = new HashMap<>();
        props.put("s3.endpoint", endpoint);
        props.put("s3.bucket", System.getProperty("loglane.it.s3.bucket", "loglane"));
        props.put("s3.access.key.id", System.getProperty("loglane.it.s3.access.key", ""));
        props.put("s3.secret.access.key", System.getProperty("loglane.it.s3.secret.key", ""));
        props.put("s3.prefix", "loglane-connect-it/" + System.nanoTime() + "/");
        props.put("partition.timestamp.field", "@timestamp");
        props.put("flush.size", "2");
        S3SinkTask task = new S3SinkTask();
        task.initialize(new FakeContext(new RecordingReporter()));
        task.start(props);
        task.put(List.of(record(0, "a", 1), record(1, "b", 2)));
        task.stop();
    }
}
