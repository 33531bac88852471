package dev.loglane.connect.it;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.loglane.connect.TestSupport;
import dev.loglane.connect.TestSupport.FakeContext;
import dev.loglane.connect.TestSupport.RecordingReporter;
import dev.loglane.connect.opensearch.OpenSearchSinkTask;
import dev.loglane.connect.s3.S3SinkTask;
import dev.loglane.connect.s3.SigV4Signer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs both tasks through the real JDK HTTP client against tiny in-process servers bound to the loopback address
 * on ephemeral ports (no external services needed).
 */
class LoopbackHttpTest {

    static final long TS = Instant.parse("2024-05-01T10:15:00Z").toEpochMilli();
    static final Pattern AUTH = Pattern.compile(
            "AWS4-HMAC-SHA256 Credential=([^/]+)/(\\d{8})/([^/]+)/s3/aws4_request,SignedHeaders=([^,]+),Signature=([0-9a-f]{64})");

    final List<HttpServer> servers = new ArrayList<>();

    @AfterEach
    void stopServers() {
        for (HttpServer s : servers) {
            s.stop(0);
        }
    }

    HttpServer server() throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        servers.add(s);
        return s;
    }

    static String base(HttpServer s) {
        return "http://127.0.0.1:" + s.getAddress().getPort();
    }

    static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        }
        ex.close();
    }

    static SinkRecord record(long offset, String id) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("event_id", id);
        v.put("ts", TS);
        v.put("message", "hello " + offset);
        return TestSupport.record("app-logs", 0, offset, null, v, TS);
    }

    @Test
    void s3UploadsAreAcceptedByAVerifyingServer() throws Exception {
        String secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        Map<String, byte[]> objects = new ConcurrentHashMap<>();
        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        HttpServer s3 = server();
        s3.createContext("/", ex -> {
            byte[] body = ex.getRequestBody().readAllBytes();
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            Matcher m = auth == null ? null : AUTH.matcher(auth);
            if (m == null || !m.matches()) {
                failures.add("bad authorization " + auth);
                reply(ex, 403, "<Error><Code>AccessDenied</Code></Error>");
                return;
            }
            Map<String, String> signed = new LinkedHashMap<>();
            for (String name : m.group(4).split(";")) {
                signed.put(name, ex.getRequestHeaders().getFirst(name));
            }
            String payloadHash = ex.getRequestHeaders().getFirst("x-amz-content-sha256");
            Instant time = Instant.from(java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
                    .withZone(java.time.ZoneOffset.UTC).parse(ex.getRequestHeaders().getFirst("x-amz-date")));
            SigV4Signer verifier = new SigV4Signer(m.group(1), secret, m.group(3), "s3");
            String expected = verifier.sign(ex.getRequestMethod(), ex.getRequestURI().getRawPath(),
                    Collections.emptyMap(), signed, payloadHash, time).signature();
            if (!expected.equals(m.group(5)) || !SigV4Signer.sha256Hex(body).equals(payloadHash)
                    || !signed.containsKey("host")) {
                failures.add("signature mismatch for " + ex.getRequestURI().getRawPath() + " headers " + signed);
                reply(ex, 403, "<Error><Code>SignatureDoesNotMatch</Code></Error>");
                return;
            }
            objects.put(ex.getRequestURI().getPath(), body);
            reply(ex, 200, "");
        });
        s3.start();

        Map<String, String> props = new HashMap<>();
        props.put("s3.endpoint", base(s3));
        props.put("s3.bucket", "loglane-bucket");
        props.put("s3.access.key.id", "AKIDLOCAL");
        props.put("s3.secret.access.key", secret);
        props.put("s3.region", "eu-west-1");
        props.put("partition.timestamp.field", "ts");
        props.put("flush.size", "2");
        S3SinkTask task = new S3SinkTask();
        task.initialize(new FakeContext(new RecordingReporter()));
        task.start(props);
        task.put(List.of(record(7, "a"), record(8, "b"), record(9, "c")));
        Map<TopicPartition, OffsetAndMetadata> offsets = task.preCommit(
                Collections.singletonMap(new TopicPartition("app-logs", 0), new OffsetAndMetadata(10)));
        task.stop();

        assertEquals(List.of(), failures);
        String path = "/loglane-bucket/app-logs/year=2024/month=05/day=01/hour=10/app-logs+0+00000000000000000007.jsonl.gz";
        assertEquals(Collections.singleton(path), objects.keySet());
        String text = new String(new GZIPInputStream(new ByteArrayInputStream(objects.get(path))).readAllBytes(),
                StandardCharsets.UTF_8);
        assertEquals("{\"event_id\":\"a\",\"ts\":1714558500000,\"message\":\"hello 7\"}\n"
                + "{\"event_id\":\"b\",\"ts\":1714558500000,\"message\":\"hello 8\"}\n", text);
        assertEquals(Collections.singletonMap(new TopicPartition("app-logs", 0), new OffsetAndMetadata(9)), offsets);
    }

    @Test
    void s3WrongSecretIsRejectedAndFailsTheTask() throws Exception {
        HttpServer s3 = server();
        s3.createContext("/", ex -> {
            ex.getRequestBody().readAllBytes();
            reply(ex, 403, "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>"
                    + "<Message>The request signature we calculated does not match</Message></Error>");
        });
        s3.start();
        Map<String, String> props = new HashMap<>();
        props.put("s3.endpoint", base(s3));
        props.put("s3.bucket", "b");
        props.put("s3.access.key.id", "AK");
        props.put("s3.secret.access.key", "wrong");
        props.put("flush.size", "1");
        S3SinkTask task = new S3SinkTask();
        task.initialize(new FakeContext(null));
        task.start(props);
        ConnectException e = assertThrows(ConnectException.class, () -> task.put(List.of(record(0, "a"))));
        assertTrue(e.getMessage().contains("SignatureDoesNotMatch"), e.getMessage());
    }

    @Test
    void openSearchBulkOverHttpWithBasicAuth() throws Exception {
        List<String> bodies = Collections.synchronizedList(new ArrayList<>());
        List<String> auths = Collections.synchronizedList(new ArrayList<>());
        HttpServer os = server();
        os.createContext("/", ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            if (!ex.getRequestURI().getPath().equals("/_bulk") || !ex.getRequestMethod().equals("POST")
                    || !"application/x-ndjson".equals(ex.getRequestHeaders().getFirst("Content-Type"))) {
                reply(ex, 400, "{\"error\":\"bad request\"}");
                return;
            }
            bodies.add(body);
            auths.add(ex.getRequestHeaders().getFirst("Authorization"));
            int n = body.split("\n").length / 2;
            StringBuilder sb = new StringBuilder("{\"took\":1,\"errors\":true,\"items\":[");
            for (int i = 0; i < n; i++) {
                sb.append(i == 0 ? "" : ",");
                // reject the second document permanently
                sb.append(i == 1
                        ? "{\"index\":{\"_id\":\"x\",\"status\":400,\"error\":{\"type\":\"mapper_parsing_exception\","
                        + "\"reason\":\"failed to parse field [message]\"}}}"
                        : "{\"index\":{\"_id\":\"x\",\"status\":201}}");
            }
            reply(ex, 200, sb.append("]}").toString());
        });
        os.start();

        Map<String, String> props = new HashMap<>();
        props.put("opensearch.urls", base(os));
        props.put("opensearch.username", "admin");
        props.put("opensearch.password", "pw");
        props.put("index.pattern", "logs-{yyyy.MM.dd}");
        props.put("index.timestamp.field", "ts");
        props.put("document.id.field", "event_id");
        RecordingReporter reporter = new RecordingReporter();
        OpenSearchSinkTask task = new OpenSearchSinkTask();
        task.initialize(new FakeContext(reporter));
        task.start(props);
        task.put(List.of(record(0, "a"), record(1, "b"), record(2, "c")));
        task.stop();

        assertEquals(1, bodies.size());
        assertTrue(bodies.get(0).startsWith("{\"index\":{\"_index\":\"logs-2024.05.01\",\"_id\":\"a\"}}\n"), bodies.get(0));
        assertEquals("Basic " + Base64.getEncoder().encodeToString("admin:pw".getBytes(StandardCharsets.UTF_8)),
                auths.get(0));
        assertEquals(1, reporter.reported.size());
        assertEquals(1L, reporter.reported.get(0).record.kafkaOffset());
        assertTrue(reporter.reported.get(0).error.getMessage().contains("mapper_parsing_exception"));
    }

    @Test
    void openSearchConnectionRefusedIsRetriedThenFails() throws Exception {
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort(); // closed again: connections to it are refused
        }
        Map<String, String> props = new HashMap<>();
        props.put("opensearch.urls", "http://127.0.0.1:" + port);
        props.put("index.pattern", "logs");
        props.put("document.id.field", "event_id");
        props.put("max.retries", "2");
        props.put("retry.backoff.ms", "10");
        props.put("request.timeout.ms", "2000");
        OpenSearchSinkTask task = new OpenSearchSinkTask();
        task.initialize(new FakeContext(null));
        task.start(props);
        ConnectException e = assertThrows(ConnectException.class, () -> task.put(List.of(record(0, "a"))));
        assertTrue(e.getMessage().contains("after 2 retries"), e.getMessage());
        assertTrue(e.getMessage().contains("I/O error"), e.getMessage());
    }
}
