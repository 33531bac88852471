package dev.loglane.connect.s3;

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
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class S3SinkTaskTest {

    static final Schema SCHEMA = SchemaBuilder.struct().name("Log")
            .field("event_id", Schema.STRING_SCHEMA)
            .field("ts", Timestamp.builder().optional().build())
            .field("message", Schema.OPTIONAL_STRING_SCHEMA)
            .build();

    static final long H10 = Instant.parse("2024-05-01T10:15:00Z").toEpochMilli();
    static final long H11 = Instant.parse("2024-05-01T11:45:00Z").toEpochMilli();
    static final TopicPartition TP = new TopicPartition("app-logs", 3);
    static final String DIR10 = "raw/app-logs/year=2024/month=05/day=01/hour=10/";
    static final String DIR11 = "raw/app-logs/year=2024/month=05/day=01/hour=11/";

    /** A clock the test moves by hand. */
    static final class MutableClock extends Clock {
        long millis = Instant.parse("2030-01-01T00:00:00Z").toEpochMilli();

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.ofEpochMilli(millis);
        }
    }

    FakeTransport transport = new FakeTransport();
    RecordingSleeper sleeper = new RecordingSleeper();
    RecordingReporter reporter = new RecordingReporter();
    MutableClock clock = new MutableClock();

    static Map<String, String> props() {
        Map<String, String> p = new HashMap<>();
        p.put("s3.endpoint", "http://127.0.0.1:9000");
        p.put("s3.bucket", "loglane");
        p.put("s3.access.key.id", "AKIDTEST");
        p.put("s3.secret.access.key", "top-secret-key");
        p.put("s3.prefix", "raw/");
        p.put("partition.timestamp.field", "ts");
        p.put("flush.size", "3");
        p.put("rotate.interval.ms", "60000");
        return p;
    }

    S3SinkTask start(Map<String, String> props, boolean withReporter) {
        S3SinkTask task = new S3SinkTask(transport, sleeper, clock);
        task.initialize(new FakeContext(withReporter ? reporter : null));
        task.start(props);
        return task;
    }

    S3SinkTask start() {
        transport.handler(req -> new HttpTransport.Response(200, new byte[0]));
        return start(props(), true);
    }

    static SinkRecord rec(long offset, long ts) {
        Struct s = new Struct(SCHEMA).put("event_id", "e" + offset).put("ts", new java.util.Date(ts))
                .put("message", "line " + offset);
        return TestSupport.record("app-logs", 3, offset, SCHEMA, s, 0L);
    }

    static String key(Request r) {
        // path is /{bucket}/{key}, percent-encoded
        String raw = r.uri.getRawPath();
        assertTrue(raw.startsWith("/loglane/"), raw);
        return java.net.URLDecoder.decode(raw.substring("/loglane/".length()).replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    static List<String> lines(Request r) {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(r.body))) {
            String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(text.endsWith("\n"));
            return Arrays.asList(text.split("\n"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Map<TopicPartition, OffsetAndMetadata> current(TopicPartition... tps) {
        Map<TopicPartition, OffsetAndMetadata> m = new HashMap<>();
        for (TopicPartition tp : tps) {
            m.put(tp, new OffsetAndMetadata(999_999));
        }
        return m;
    }

    @Test
    void flushSizeUploadsGzipJsonLinesWithDeterministicKey() {
        S3SinkTask task = start();
        task.put(Arrays.asList(rec(100, H10), rec(101, H10)));
        assertTrue(transport.requests.isEmpty());
        task.put(Collections.singletonList(rec(102, H10)));

        assertEquals(1, transport.requests.size());
        Request put = transport.requests.get(0);
        assertEquals("PUT", put.method);
        assertEquals("http://127.0.0.1:9000/loglane/raw/app-logs/year%3D2024/month%3D05/day%3D01/hour%3D10/"
                + "app-logs%2B3%2B00000000000000000100.jsonl.gz", put.uri.toString());
        assertEquals(DIR10 + "app-logs+3+00000000000000000100.jsonl.gz", key(put));
        assertEquals("application/gzip", put.headers.get("content-type"));
        assertEquals(SigV4Signer.sha256Hex(put.body), put.headers.get("x-amz-content-sha256"));
        assertEquals("20300101T000000Z", put.headers.get("x-amz-date"));
        String auth = put.headers.get("authorization");
        assertTrue(auth.startsWith("AWS4-HMAC-SHA256 Credential=AKIDTEST/20300101/us-east-1/s3/aws4_request,"
                + "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date,Signature="), auth);
        assertFalse(put.headers.containsKey("host"), "Host comes from the URI");

        List<String> lines = lines(put);
        assertEquals(3, lines.size());
        assertEquals("{\"event_id\":\"e100\",\"ts\":\"2024-05-01T10:15:00.000Z\",\"message\":\"line 100\"}", lines.get(0));
        assertEquals("e102", ((Map<?, ?>) JsonReader.parse(lines.get(2))).get("event_id"));

        assertEquals(Collections.singletonMap(TP, new OffsetAndMetadata(103)), task.preCommit(current(TP)));
    }

    @Test
    void recordsOfDifferentHoursGoToDifferentFilesCutTogether() {
        S3SinkTask task = start();
        task.put(Arrays.asList(rec(0, H10), rec(1, H11), rec(2, H10), rec(3, H11)));
        assertTrue(transport.requests.isEmpty());
        assertEquals(Arrays.asList(DIR10 + "app-logs+3+00000000000000000000.jsonl.gz",
                DIR11 + "app-logs+3+00000000000000000001.jsonl.gz"), task.openKeys());
        assertEquals(Collections.singletonMap(TP, new OffsetAndMetadata(0)), task.preCommit(current(TP)));

        task.put(Collections.singletonList(rec(4, H10))); // hour 10 reaches flush.size=3 -> cut the partition
        assertEquals(2, transport.requests.size());
        assertEquals(DIR10 + "app-logs+3+00000000000000000000.jsonl.gz", key(transport.requests.get(0)));
        assertEquals(3, lines(transport.requests.get(0)).size());
        assertEquals(DIR11 + "app-logs+3+00000000000000000001.jsonl.gz", key(transport.requests.get(1)));
        assertEquals(2, lines(transport.requests.get(1)).size());
        assertTrue(task.openKeys().isEmpty());
        assertEquals(Collections.singletonMap(TP, new OffsetAndMetadata(5)), task.preCommit(current(TP)));
    }

    @Test
    void preCommitReturnsFirstUnuploadedOffsetPerPartition() {
        S3SinkTask task = start();
        TopicPartition other = new TopicPartition("app-logs", 4);
        TopicPartition idle = new TopicPartition("app-logs", 5);
        SinkRecord p4 = TestSupport.record("app-logs", 4, 7, SCHEMA,
                new Struct(SCHEMA).put("event_id", "x").put("ts", new java.util.Date(H10)), 0L);
        task.put(Arrays.asList(rec(50, H10), rec(51, H11), p4));
        Map<TopicPartition, OffsetAndMetadata> expected = new HashMap<>();
        expected.put(TP, new OffsetAndMetadata(50));
        expected.put(other, new OffsetAndMetadata(7));
        assertEquals(expected, task.preCommit(current(TP, other, idle)), "idle partitions are left alone");
        assertTrue(transport.requests.isEmpty());
    }

    @Test
    void agedFilesAreUploadedOnPreCommitAndPut() {
        S3SinkTask task = start();
        task.put(Collections.singletonList(rec(10, H10)));
        clock.millis += 59_999;
        assertEquals(Collections.singletonMap(TP, new OffsetAndMetadata(10)), task.preCommit(current(TP)));
        assertTrue(transport.requests.isEmpty());
        task.put(Collections.singletonList(rec(11, H11)));
        clock.millis += 1;
        assertEquals(Collections.singletonMap(TP, new OffsetAndMetadata(12)), task.preCommit(current(TP)));
        assertEquals(2, transport.requests.size(), "the younger file of the partition is cut too");

        // rotation also happens at the end of a put, triggered by any partition's records
        task.put(Collections.singletonList(rec(12, H10)));
        clock.millis += 60_000;
        SinkRecord otherPartition = TestSupport.record("app-logs", 9, 0, SCHEMA,
                new Struct(SCHEMA).put("event_id", "y").put("ts", new java.util.Date(H10)), 0L);
        task.put(Collections.singletonList(otherPartition));
        assertEquals(3, transport.requests.size());
        assertEquals(DIR10 + "app-logs+3+00000000000000000012.jsonl.gz", key(transport.requests.get(2)));
    }

    @Test
    void rotationCanBeDisabled() {
        Map<String, String> p = props();
        p.put("rotate.interval.ms", "-1");
        transport.handler(req -> new HttpTransport.Response(200, new byte[0]));
        S3SinkTask task = start(p, true);
        task.put(Collections.singletonList(rec(10, H10)));
        clock.millis += 86_400_000L;
        task.preCommit(current(TP));
        assertTrue(transport.requests.isEmpty());
    }

    @Test
    void closeDiscardsBuffersAndReplayReproducesTheSameKeys() {
        // run 1: 0..2 uploaded, 3..4 buffered, then the partition is revoked
        S3SinkTask task = start();
        task.put(Arrays.asList(rec(0, H10), rec(1, H10), rec(2, H10), rec(3, H10), rec(4, H10)));
        assertEquals(Collections.singletonMap(TP, new OffsetAndMetadata(3)), task.preCommit(current(TP)));
        task.close(Collections.singletonList(TP));
        assertTrue(task.openKeys().isEmpty());
        assertTrue(task.preCommit(current(TP)).isEmpty());
        assertEquals(1, transport.requests.size());

        // the next owner resumes at the committed offset 3
        task.open(Collections.singletonList(TP));
        task.put(Arrays.asList(rec(3, H10), rec(4, H10), rec(5, H10)));
        List<String> keys = transport.requests.stream().map(S3SinkTaskTest::key).collect(Collectors.toList());

        // a run without the rebalance writes exactly the same objects
        FakeTransport uninterrupted = new FakeTransport().handler(req -> new HttpTransport.Response(200, new byte[0]));
        S3SinkTask other = new S3SinkTask(uninterrupted, sleeper, clock);
        other.initialize(new FakeContext(reporter));
        other.start(props());
        other.put(Arrays.asList(rec(0, H10), rec(1, H10), rec(2, H10), rec(3, H10), rec(4, H10), rec(5, H10)));
        assertEquals(keys, uninterrupted.requests.stream().map(S3SinkTaskTest::key).collect(Collectors.toList()));
        for (int i = 0; i < keys.size(); i++) {
            assertTrue(Arrays.equals(transport.requests.get(i).body, uninterrupted.requests.get(i).body),
                    "object " + keys.get(i) + " has identical bytes");
        }
        task.stop();
        other.stop();
    }

    @Test
    void unconvertibleRecordsAreReportedAndCommitted() {
        S3SinkTask task = start();
        SinkRecord tombstone = TestSupport.record("app-logs", 3, 20, SCHEMA, null, 0L);
        Map<String, Object> badTs = new HashMap<>();
        badTs.put("ts", "later today");
        SinkRecord badTimestamp = TestSupport.record("app-logs", 3, 21, null, badTs, 0L);
        SinkRecord unsupported = TestSupport.record("app-logs", 3, 22, null,
                Collections.singletonMap("x", new Object()), 0L);
        task.put(Arrays.asList(tombstone, badTimestamp, unsupported));
        assertEquals(3, reporter.reported.size());
        assertTrue(reporter.reported.get(1).error.getMessage().contains("later today"));
        assertEquals(Collections.singletonMap(TP, new OffsetAndMetadata(23)), task.preCommit(current(TP)));

        task.put(Arrays.asList(rec(23, H10), TestSupport.record("app-logs", 3, 24, SCHEMA, null, 0L)));
        assertEquals(Collections.singletonMap(TP, new OffsetAndMetadata(23)), task.preCommit(current(TP)));
    }

    @Test
    void schemalessAndPrimitiveValuesAreWritten() {
        Map<String, String> p = props();
        p.put("flush.size", "2");
        p.put("partition.timestamp.field", "");
        transport.handler(req -> new HttpTransport.Response(200, new byte[0]));
        S3SinkTask task = start(p, true);
        Map<String, Object> m = new HashMap<>();
        m.put("k", Arrays.asList(1, null));
        task.put(Arrays.asList(TestSupport.record("app-logs", 3, 0, null, m, H11),
                TestSupport.record("app-logs", 3, 1, Schema.STRING_SCHEMA, "plain \"text\"", H11)));
        Request put = transport.requests.get(0);
        assertEquals(DIR11 + "app-logs+3+00000000000000000000.jsonl.gz", key(put), "record timestamp is used");
        assertEquals(Arrays.asList("{\"k\":[1,null]}", "\"plain \\\"text\\\"\""), lines(put));
    }

    @Test
    void unconvertibleRecordWithoutReporterFailsTheTask() {
        transport.handler(req -> new HttpTransport.Response(200, new byte[0]));
        S3SinkTask task = start(props(), false);
        ConnectException e = assertThrows(ConnectException.class, () -> task.put(Collections.singletonList(
                TestSupport.record("app-logs", 3, 77, SCHEMA, null, 0L))));
        assertTrue(e.getMessage().contains("topic=app-logs partition=3 offset=77"), e.getMessage());
    }

    @Test
    void transientUploadFailuresAreRetried() {
        transport.respond(500, "<Error><Code>InternalError</Code><Message>try again</Message></Error>");
        transport.fail(new IOException("connection reset"));
        transport.respond(503, "<Error><Code>SlowDown</Code></Error>");
        transport.respond(200, "");
        S3SinkTask task = start(props(), true);
        task.put(Arrays.asList(rec(0, H10), rec(1, H10), rec(2, H10)));
        assertEquals(4, transport.requests.size());
        assertEquals(Arrays.asList(500L, 1000L, 2000L), sleeper.sleeps);
        // each attempt is signed afresh, and all carry the same payload
        assertTrue(transport.requests.stream().allMatch(r -> Arrays.equals(r.body, transport.requests.get(0).body)));
        assertEquals(Collections.singletonMap(TP, new OffsetAndMetadata(3)), task.preCommit(current(TP)));
    }

    @Test
    void exhaustedRetriesFailTheTask() {
        Map<String, String> p = props();
        p.put("max.retries", "2");
        transport.handler(req -> new HttpTransport.Response(503,
                "<Error><Code>SlowDown</Code><Message>Reduce your request rate</Message></Error>"
                        .getBytes(StandardCharsets.UTF_8)));
        S3SinkTask task = start(p, true);
        ConnectException e = assertThrows(ConnectException.class,
                () -> task.put(Arrays.asList(rec(0, H10), rec(1, H10), rec(2, H10))));
        assertTrue(e.getMessage().contains("after 2 retries"), e.getMessage());
        assertTrue(e.getMessage().contains("SlowDown: Reduce your request rate"), e.getMessage());
        assertEquals(3, transport.requests.size());
    }

    @Test
    void permanentRejectionFailsImmediatelyWithoutLeakingTheSecret() {
        transport.respond(403, "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated "
                + "does not match</Message></Error>");
        S3SinkTask task = start(props(), true);
        ConnectException e = assertThrows(ConnectException.class,
                () -> task.put(Arrays.asList(rec(0, H10), rec(1, H10), rec(2, H10))));
        assertEquals(1, transport.requests.size());
        assertTrue(e.getMessage().contains("SignatureDoesNotMatch"), e.getMessage());
        assertFalse(e.getMessage().contains("top-secret-key"));
        assertFalse(new S3SinkConfig(props()).toString().contains("top-secret-key"));
    }

    @Test
    void uploadFailureDuringPreCommitKeepsOffsetsAndFailsNextPut() {
        Map<String, String> p = props();
        p.put("max.retries", "0");
        transport.respond(500, "boom");
        S3SinkTask task = start(p, true);
        task.put(Arrays.asList(rec(40, H10), rec(41, H10)));
        clock.millis += 60_000;
        Map<TopicPartition, OffsetAndMetadata> offsets = task.preCommit(current(TP));
        assertEquals(Collections.singletonMap(TP, new OffsetAndMetadata(40)), offsets);
        ConnectException e = assertThrows(ConnectException.class,
                () -> task.put(Collections.singletonList(rec(42, H10))));
        assertTrue(e.getMessage().contains("HTTP 500"), e.getMessage());
    }

    @Test
    void renamedTopicKeepsOriginalCoordinatesInFileNameAndOffsets() {
        Map<String, String> p = props();
        p.put("flush.size", "1");
        p.put("s3.prefix", "");
        transport.handler(req -> new HttpTransport.Response(200, new byte[0]));
        S3SinkTask task = start(p, true);
        SinkRecord original = rec(5, H10);
        SinkRecord renamed = original.newRecord("logs", original.kafkaPartition(), null, null, original.valueSchema(),
                original.value(), original.timestamp());
        task.put(Collections.singletonList(renamed));
        assertEquals("logs/year=2024/month=05/day=01/hour=10/app-logs+3+00000000000000000005.jsonl.gz",
                key(transport.requests.get(0)));
        assertEquals(Collections.singletonMap(TP, new OffsetAndMetadata(6)), task.preCommit(current(TP)));
    }

    @Test
    void endpointPathAndPortAreKeptInTheRequest() {
        Map<String, String> p = props();
        p.put("s3.endpoint", "https://127.0.0.1:8443/s3/");
        p.put("flush.size", "1");
        transport.handler(req -> new HttpTransport.Response(200, new byte[0]));
        S3SinkTask task = start(p, true);
        task.put(Collections.singletonList(rec(0, H10)));
        assertEquals("https://127.0.0.1:8443/s3/loglane/raw/app-logs/year%3D2024/month%3D05/day%3D01/"
                + "hour%3D10/app-logs%2B3%2B00000000000000000000.jsonl.gz", transport.requests.get(0).uri.toString());
    }

    @Test
    void manyRecordsRoundTrip() {
        Map<String, String> p = props();
        p.put("flush.size", "1000");
        transport.handler(req -> new HttpTransport.Response(200, new byte[0]));
        S3SinkTask task = start(p, true);
        List<SinkRecord> batch = new ArrayList<>();
        for (int i = 0; i < 2500; i++) {
            batch.add(rec(i, H10));
        }
        task.put(batch);
        assertEquals(2, transport.requests.size());
        assertEquals(1000, lines(transport.requests.get(1)).size());
        assertEquals(DIR10 + "app-logs+3+00000000000000001000.jsonl.gz", key(transport.requests.get(1)));
        assertEquals(Collections.singletonMap(TP, new OffsetAndMetadata(2000)), task.preCommit(current(TP)));
    }
}
