package dev.loglane.connect.opensearch;

import dev.loglane.connect.TestSupport;
import dev.loglane.connect.TestSupport.FakeContext;
import dev.loglane.connect.TestSupport.FakeTransport;
import dev.loglane.connect.TestSupport.RecordingReporter;
import dev.loglane.connect.TestSupport.RecordingSleeper;
import dev.loglane.connect.TestSupport.Request;
import dev.loglane.connect.common.HttpTransport;
import dev.loglane.connect.common.JsonReader;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.data.Timestamp;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.errors.RetriableException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OpenSearchSinkTaskTest {

    static final Schema SCHEMA = SchemaBuilder.struct().name("Log")
            .field("event_id", Schema.OPTIONAL_STRING_SCHEMA)
            .field("ts", Timestamp.builder().optional().build())
            .field("message", Schema.OPTIONAL_STRING_SCHEMA)
            .build();

    static final long MAY_1 = Instant.parse("2024-05-01T10:00:00Z").toEpochMilli();
    static final long MAY_2 = Instant.parse("2024-05-02T23:30:00Z").toEpochMilli();

    FakeTransport transport = new FakeTransport();
    RecordingSleeper sleeper = new RecordingSleeper();
    RecordingReporter reporter = new RecordingReporter();

    static Map<String, String> props() {
        Map<String, String> p = new HashMap<>();
        p.put("opensearch.urls", "http://127.0.0.1:9200");
        p.put("index.pattern", "logs-{yyyy.MM.dd}");
        p.put("index.timestamp.field", "ts");
        p.put("document.id.field", "event_id");
        return p;
    }

    OpenSearchSinkTask start(Map<String, String> props, boolean withReporter) {
        OpenSearchSinkTask task = new OpenSearchSinkTask(transport, sleeper);
        task.initialize(new FakeContext(withReporter ? reporter : null));
        task.start(props);
        return task;
    }

    static SinkRecord rec(long offset, String id, Long ts, String msg) {
        Struct s = new Struct(SCHEMA).put("event_id", id).put("message", msg);
        if (ts != null) {
            s.put("ts", new java.util.Date(ts));
        }
        return TestSupport.record("app-logs", 3, offset, SCHEMA, s, 1_000L);
    }

    /** A bulk response with one item per status; non-2xx items carry an error of the given type. */
    static String response(Object... statusAndType) {
        StringBuilder sb = new StringBuilder("{\"took\":5,\"errors\":true,\"items\":[");
        for (int i = 0; i < statusAndType.length; i += 2) {
            int status = (Integer) statusAndType[i];
            String type = (String) statusAndType[i + 1];
            if (i > 0) {
                sb.append(',');
            }
            sb.append("{\"index\":{\"_index\":\"x\",\"_id\":\"").append(i / 2).append("\",\"status\":").append(status);
            if (type != null) {
                sb.append(",\"error\":{\"type\":\"").append(type).append("\",\"reason\":\"reason of ").append(type)
                        .append("\"}");
            }
            sb.append("}}");
        }
        return sb.append("]}").toString();
    }

    static List<Map<?, ?>> actionLines(Request req) {
        List<Map<?, ?>> out = new ArrayList<>();
        String[] lines = req.bodyText().split("\n");
        for (int i = 0; i < lines.length; i += 2) {
            out.add((Map<?, ?>) ((Map<?, ?>) JsonReader.parse(lines[i])).get("index"));
        }
        return out;
    }

    @Test
    void indexesBatchWithBulkApi() {
        transport.respond(200, response(201, null, 201, null, 200, null));
        OpenSearchSinkTask task = start(props(), true);
        task.put(Arrays.asList(rec(10, "a", MAY_1, "one"), rec(11, "b", MAY_2, "two"), rec(12, "a", MAY_1, "one again")));

        assertEquals(1, transport.requests.size());
        Request req = transport.requests.get(0);
        assertEquals("POST", req.method);
        assertEquals("http://127.0.0.1:9200/_bulk", req.uri.toString());
        assertEquals("application/x-ndjson", req.headers.get("Content-Type"));
        assertNull(req.headers.get("Authorization"));
        assertEquals("{\"index\":{\"_index\":\"logs-2024.05.01\",\"_id\":\"a\"}}\n"
                + "{\"event_id\":\"a\",\"ts\":\"2024-05-01T10:00:00.000Z\",\"message\":\"one\"}\n"
                + "{\"index\":{\"_index\":\"logs-2024.05.02\",\"_id\":\"b\"}}\n"
                + "{\"event_id\":\"b\",\"ts\":\"2024-05-02T23:30:00.000Z\",\"message\":\"two\"}\n"
                + "{\"index\":{\"_index\":\"logs-2024.05.01\",\"_id\":\"a\"}}\n"
                + "{\"event_id\":\"a\",\"ts\":\"2024-05-01T10:00:00.000Z\",\"message\":\"one again\"}\n",
                req.bodyText());
        assertTrue(reporter.reported.isEmpty());
        assertTrue(sleeper.sleeps.isEmpty());

        Map<TopicPartition, OffsetAndMetadata> offsets =
                Collections.singletonMap(new TopicPartition("app-logs", 3), new OffsetAndMetadata(13));
        assertEquals(offsets, task.preCommit(offsets));
        task.stop();
    }

    @Test
    void schemalessMapsAndTimestampFallback() {
        transport.respond(200, response(201, null, 201, null));
        OpenSearchSinkTask task = start(props(), true);
        Map<String, Object> withIso = new HashMap<>();
        withIso.put("event_id", 99L);
        withIso.put("ts", "2024-05-02T01:02:03+02:00");
        Map<String, Object> noTs = new HashMap<>();
        noTs.put("event_id", "n");
        task.put(Arrays.asList(
                TestSupport.record("t", 0, 1, null, withIso, MAY_1),
                TestSupport.record("t", 0, 2, null, noTs, MAY_2)));
        List<Map<?, ?>> actions = actionLines(transport.requests.get(0));
        assertEquals("logs-2024.05.01", actions.get(0).get("_index"), "ISO string with offset is converted to UTC");
        assertEquals("99", actions.get(0).get("_id"));
        assertEquals("logs-2024.05.02", actions.get(1).get("_index"), "missing field: Kafka record timestamp");
    }

    @Test
    void mixedItemsRejectsGoToReporterAndRetriablesAreRetried() {
        transport.respond(200, response(201, null, 400, "mapper_parsing_exception", 429, "es_rejected_execution_exception",
                503, "unavailable_shards_exception"));
        transport.respond(200, response(201, null, 201, null));
        OpenSearchSinkTask task = start(props(), true);
        SinkRecord bad = rec(21, "b", MAY_1, "bad");
        task.put(Arrays.asList(rec(20, "a", MAY_1, "ok"), bad, rec(22, "c", MAY_1, "busy"), rec(23, "d", MAY_1, "busy")));

        assertEquals(1, reporter.reported.size());
        assertEquals(bad, reporter.reported.get(0).record);
        String msg = reporter.reported.get(0).error.getMessage();
        assertInstanceOf(DataException.class, reporter.reported.get(0).error);
        assertTrue(msg.contains("mapper_parsing_exception"), msg);
        assertTrue(msg.contains("reason of mapper_parsing_exception"), msg);
        assertTrue(msg.contains("index=logs-2024.05.01") && msg.contains("id=b") && msg.contains("status=400"), msg);

        assertEquals(2, transport.requests.size());
        List<Map<?, ?>> retried = actionLines(transport.requests.get(1));
        assertEquals(2, retried.size());
        assertEquals("c", retried.get(0).get("_id"));
        assertEquals("d", retried.get(1).get("_id"));
        assertEquals(Collections.singletonList(500L), sleeper.sleeps);

        // the task keeps running after reporting
        transport.respond(200, response(201, null));
        task.put(Collections.singletonList(rec(24, "e", MAY_1, "later")));
        assertEquals(3, transport.requests.size());
    }

    @Test
    void transientHttpAndIoFailuresAreRetriedAcrossUrls() {
        Map<String, String> p = props();
        p.put("opensearch.urls", "http://127.0.0.1:9200, http://127.0.0.2:9200/");
        transport.respond(503, "{\"error\":\"unavailable\"}");
        transport.fail(new SocketTimeoutException("read timed out"));
        transport.respond(429, "too many requests");
        transport.respond(200, response(201, null));
        OpenSearchSinkTask task = start(p, true);
        task.put(Collections.singletonList(rec(1, "a", MAY_1, "x")));

        assertEquals(4, transport.requests.size());
        assertEquals("http://127.0.0.1:9200/_bulk", transport.requests.get(0).uri.toString());
        assertEquals("http://127.0.0.2:9200/_bulk", transport.requests.get(1).uri.toString());
        assertEquals("http://127.0.0.1:9200/_bulk", transport.requests.get(2).uri.toString());
        assertEquals(Arrays.asList(500L, 1000L, 2000L), sleeper.sleeps);
        assertTrue(reporter.reported.isEmpty());
    }

    @Test
    void exhaustedRetriesFailTheTask() {
        Map<String, String> p = props();
        p.put("max.retries", "3");
        p.put("retry.backoff.ms", "100");
        p.put("retry.backoff.max.ms", "250");
        transport.handler(req -> new HttpTransport.Response(502, "bad gateway".getBytes(StandardCharsets.UTF_8)));
        OpenSearchSinkTask task = start(p, true);
        ConnectException e = assertThrows(ConnectException.class,
                () -> task.put(Collections.singletonList(rec(1, "a", MAY_1, "x"))));
        assertFalse(e instanceof RetriableException);
        assertTrue(e.getMessage().contains("after 3 retries"), e.getMessage());
        assertTrue(e.getMessage().contains("HTTP 502"), e.getMessage());
        assertEquals(4, transport.requests.size());
        assertEquals(Arrays.asList(100L, 200L, 250L), sleeper.sleeps);
    }

    @Test
    void itemsStillRetriableAfterMaxRetriesFailTheTask() {
        Map<String, String> p = props();
        p.put("max.retries", "1");
        transport.respond(200, response(429, "es_rejected_execution_exception"));
        transport.respond(200, response(429, "es_rejected_execution_exception"));
        OpenSearchSinkTask task = start(p, true);
        ConnectException e = assertThrows(ConnectException.class,
                () -> task.put(Collections.singletonList(rec(1, "a", MAY_1, "x"))));
        assertTrue(e.getMessage().contains("es_rejected_execution_exception"), e.getMessage());
        assertTrue(reporter.reported.isEmpty(), "retriable items are never sent to the DLQ");
    }

    @Test
    void ioExceptionExhaustionMentionsCause() {
        Map<String, String> p = props();
        p.put("max.retries", "0");
        transport.fail(new IOException("Connection refused"));
        OpenSearchSinkTask task = start(p, true);
        ConnectException e = assertThrows(ConnectException.class,
                () -> task.put(Collections.singletonList(rec(1, "a", MAY_1, "x"))));
        assertTrue(e.getMessage().contains("Connection refused"), e.getMessage());
        assertTrue(sleeper.sleeps.isEmpty());
    }

    @Test
    void permanentRejectionWithoutReporterFailsNamingTheRecord() {
        transport.respond(200, response(201, null, 400, "mapper_parsing_exception"));
        OpenSearchSinkTask task = start(props(), false);
        ConnectException e = assertThrows(ConnectException.class,
                () -> task.put(Arrays.asList(rec(5, "a", MAY_1, "ok"), rec(6, "b", MAY_1, "bad"))));
        String msg = e.getMessage();
        assertTrue(msg.contains("topic=app-logs partition=3 offset=6"), msg);
        assertTrue(msg.contains("mapper_parsing_exception"), msg);
    }

    @Test
    void unconvertibleRecordsGoToReporterAndOthersAreIndexed() {
        transport.respond(200, response(201, null));
        OpenSearchSinkTask task = start(props(), true);
        SinkRecord tombstone = TestSupport.record("app-logs", 3, 1, SCHEMA, null, MAY_1);
        SinkRecord noId = rec(2, null, MAY_1, "no id");
        SinkRecord primitive = TestSupport.record("app-logs", 3, 3, Schema.STRING_SCHEMA, "plain text", MAY_1);
        SinkRecord unsupported = TestSupport.record("app-logs", 3, 4, null,
                Collections.singletonMap("event_id", new Object()), MAY_1);
        Map<String, Object> badTs = new HashMap<>();
        badTs.put("event_id", "z");
        badTs.put("ts", "not a time");
        SinkRecord badTimestamp = TestSupport.record("app-logs", 3, 5, null, badTs, MAY_1);
        Map<String, Object> badField = new HashMap<>();
        badField.put("event_id", "y");
        badField.put("thing", new StringBuilder("ok"));
        badField.put("obj", Thread.currentThread());
        SinkRecord badValue = TestSupport.record("app-logs", 3, 6, null, badField, MAY_1);
        SinkRecord good = rec(7, "g", MAY_1, "fine");

        task.put(Arrays.asList(tombstone, noId, primitive, unsupported, badTimestamp, badValue, good));

        assertEquals(6, reporter.reported.size());
        assertEquals(Arrays.asList(1L, 2L, 3L, 4L, 5L, 6L),
                reporter.reported.stream().map(r -> r.record.kafkaOffset()).collect(java.util.stream.Collectors.toList()));
        assertTrue(reporter.reported.get(0).error.getMessage().contains("null"));
        assertTrue(reporter.reported.get(1).error.getMessage().contains("event_id"));
        assertTrue(reporter.reported.get(2).error.getMessage().contains("Struct or a Map"));
        assertTrue(reporter.reported.get(4).error.getMessage().contains("not a time"));
        assertTrue(reporter.reported.get(5).error.getMessage().contains("Unsupported value type"));
        assertEquals(1, transport.requests.size());
        assertEquals(1, actionLines(transport.requests.get(0)).size());
    }

    @Test
    void unconvertibleRecordWithoutReporterFailsBeforeSending() {
        OpenSearchSinkTask task = start(props(), false);
        ConnectException e = assertThrows(ConnectException.class,
                () -> task.put(Collections.singletonList(rec(8, null, MAY_1, "no id"))));
        assertTrue(e.getMessage().contains("topic=app-logs partition=3 offset=8"), e.getMessage());
        assertTrue(e.getMessage().contains("event_id"), e.getMessage());
        assertTrue(transport.requests.isEmpty());
    }

    @Test
    void largeBatchesAreSplitByBulkMaxActions() {
        Map<String, String> p = props();
        p.put("bulk.max.actions", "2");
        transport.respond(200, response(201, null, 201, null));
        transport.respond(200, response(201, null, 201, null));
        transport.respond(200, response(201, null));
        OpenSearchSinkTask task = start(p, true);
        List<SinkRecord> records = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            records.add(rec(i, "id" + i, MAY_1, "m"));
        }
        task.put(records);
        assertEquals(3, transport.requests.size());
        assertEquals(2, actionLines(transport.requests.get(0)).size());
        assertEquals(2, actionLines(transport.requests.get(1)).size());
        assertEquals(1, actionLines(transport.requests.get(2)).size());
        assertEquals("id4", actionLines(transport.requests.get(2)).get(0).get("_id"));
    }

    @Test
    void basicAuthAndAuthFailureDoesNotLeakPassword() {
        Map<String, String> p = props();
        p.put("opensearch.username", "loglane");
        p.put("opensearch.password", "s3cr3t-pw");
        transport.respond(401, "{\"error\":\"Unauthorized\"}");
        OpenSearchSinkTask task = start(p, true);
        ConnectException e = assertThrows(ConnectException.class,
                () -> task.put(Collections.singletonList(rec(1, "a", MAY_1, "x"))));
        assertEquals(1, transport.requests.size(), "auth failures are not retried");
        assertEquals("Basic " + Base64.getEncoder().encodeToString("loglane:s3cr3t-pw".getBytes(StandardCharsets.UTF_8)),
                transport.requests.get(0).headers.get("Authorization"));
        assertTrue(e.getMessage().contains("HTTP 401"), e.getMessage());
        assertFalse(e.getMessage().contains("s3cr3t-pw"));
        assertFalse(e.getMessage().contains(Base64.getEncoder().encodeToString("loglane:s3cr3t-pw".getBytes(StandardCharsets.UTF_8))));
        assertFalse(new OpenSearchSinkConfig(p).toString().contains("s3cr3t-pw"));
    }

    @Test
    void requestTooLargeIsExplained() {
        transport.respond(413, "");
        OpenSearchSinkTask task = start(props(), true);
        ConnectException e = assertThrows(ConnectException.class,
                () -> task.put(Collections.singletonList(rec(1, "a", MAY_1, "x"))));
        assertTrue(e.getMessage().contains("bulk.max.actions"), e.getMessage());
    }

    @Test
    void unreadableOrMismatchedResponseIsRetried() {
        transport.respond(200, "<html>proxy error</html>");
        transport.respond(200, response(201, null, 201, null)); // 2 items for 1 action
        transport.respond(200, response(201, null));
        OpenSearchSinkTask task = start(props(), true);
        task.put(Collections.singletonList(rec(1, "a", MAY_1, "x")));
        assertEquals(3, transport.requests.size());
        assertEquals(2, sleeper.sleeps.size());
    }

    @Test
    void emptyPutSendsNothing() {
        OpenSearchSinkTask task = start(props(), true);
        task.put(Collections.emptyList());
        assertTrue(transport.requests.isEmpty());
    }
}
