package dev.loglane.connect.common;

import dev.loglane.connect.TestSupport;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.data.Timestamp;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecordFieldsTest {

    static final long RECORD_TS = 1_700_000_000_000L;

    static SinkRecord mapRecord(String field, Object value) {
        Map<String, Object> m = new HashMap<>();
        m.put("event_id", "id-1");
        if (field != null) {
            m.put(field, value);
        }
        return TestSupport.record("t", 0, 0, null, m, RECORD_TS);
    }

    static long ms(String iso) {
        return Instant.parse(iso).toEpochMilli();
    }

    @Test
    void timestampFromStructDate() {
        Schema schema = SchemaBuilder.struct().field("ts", Timestamp.builder().optional().build()).build();
        Struct s = new Struct(schema).put("ts", new java.util.Date(123_456L));
        SinkRecord r = TestSupport.record("t", 0, 0, schema, s, RECORD_TS);
        assertEquals(123_456L, RecordFields.eventTimeMillis(r, "ts"));
        Struct empty = new Struct(schema);
        assertEquals(RECORD_TS, RecordFields.eventTimeMillis(
                TestSupport.record("t", 0, 0, schema, empty, RECORD_TS), "ts"), "null field falls back");
    }

    @Test
    void timestampFromEpochMillisNumbers() {
        assertEquals(1_714_564_800_000L, RecordFields.eventTimeMillis(mapRecord("ts", 1_714_564_800_000L), "ts"));
        assertEquals(5L, RecordFields.eventTimeMillis(mapRecord("ts", 5), "ts"));
        assertEquals(5L, RecordFields.eventTimeMillis(mapRecord("ts", 5.9d), "ts"));
        assertEquals(77L, RecordFields.eventTimeMillis(mapRecord("ts", "77"), "ts"));
    }

    @Test
    void timestampFromIsoStrings() {
        long expected = ms("2024-05-01T12:00:00.123Z");
        assertEquals(expected, RecordFields.eventTimeMillis(mapRecord("ts", "2024-05-01T12:00:00.123Z"), "ts"));
        assertEquals(expected, RecordFields.eventTimeMillis(mapRecord("ts", "2024-05-01T14:00:00.123+02:00"), "ts"));
        assertEquals(expected, RecordFields.eventTimeMillis(mapRecord("ts", "2024-05-01T12:00:00.123"), "ts"));
        assertEquals(expected, RecordFields.eventTimeMillis(mapRecord("ts", "2024-05-01 12:00:00.123Z"), "ts"));
        assertEquals(expected, RecordFields.eventTimeMillis(mapRecord("ts", "2024-05-01T08:00:00.123-04:00[America/New_York]"), "ts"));
        assertEquals(ms("2024-05-01T00:00:00Z"), RecordFields.eventTimeMillis(mapRecord("ts", "2024-05-01"), "ts"));
    }

    @Test
    void missingFieldOrNoFieldConfiguredFallsBackToRecordTimestamp() {
        assertEquals(RECORD_TS, RecordFields.eventTimeMillis(mapRecord(null, null), "ts"));
        assertEquals(RECORD_TS, RecordFields.eventTimeMillis(mapRecord("ts", null), "ts"));
        assertEquals(RECORD_TS, RecordFields.eventTimeMillis(mapRecord("ts", "2024-05-01T00:00:00Z"), ""));
    }

    @Test
    void unparseableTimestampIsDataException() {
        DataException e = assertThrows(DataException.class,
                () -> RecordFields.eventTimeMillis(mapRecord("ts", "yesterday"), "ts"));
        assertTrue(e.getMessage().contains("yesterday"), e.getMessage());
        assertThrows(DataException.class, () -> RecordFields.eventTimeMillis(mapRecord("ts", true), "ts"));
        assertThrows(DataException.class, () -> RecordFields.eventTimeMillis(mapRecord("ts", ""), "ts"));
    }

    @Test
    void noTimestampAnywhereIsDataException() {
        SinkRecord r = TestSupport.record("t", 0, 0, null, Collections.singletonMap("a", 1), null);
        assertThrows(DataException.class, () -> RecordFields.eventTimeMillis(r, "ts"));
    }

    @Test
    void dottedPathsReachNestedFields() {
        Map<String, Object> inner = new HashMap<>();
        inner.put("created", "2024-05-01T12:00:00Z");
        inner.put("id", 7L);
        Map<String, Object> m = new HashMap<>();
        m.put("event", inner);
        m.put("a.b", "literal");
        assertEquals("2024-05-01T12:00:00Z", RecordFields.get(m, "event.created"));
        assertEquals("literal", RecordFields.get(m, "a.b"), "an exact field name wins over a path");
        assertEquals("7", RecordFields.documentId(m, "event.id"));
        assertEquals(null, RecordFields.get(m, "event.missing.deeper"));

        Schema inSchema = SchemaBuilder.struct().field("id", Schema.STRING_SCHEMA).build();
        Schema outSchema = SchemaBuilder.struct().field("meta", inSchema).build();
        Struct s = new Struct(outSchema).put("meta", new Struct(inSchema).put("id", "x"));
        assertEquals("x", RecordFields.documentId(s, "meta.id"));
    }

    @Test
    void documentIdRules() {
        Map<String, Object> m = new HashMap<>();
        m.put("s", "abc");
        m.put("n", 12L);
        m.put("empty", "");
        m.put("nul", null);
        m.put("f", 1.5);
        m.put("long", "x".repeat(513));
        assertEquals("abc", RecordFields.documentId(m, "s"));
        assertEquals("12", RecordFields.documentId(m, "n"));
        assertTrue(assertThrows(DataException.class, () -> RecordFields.documentId(m, "missing"))
                .getMessage().contains("missing"));
        assertTrue(assertThrows(DataException.class, () -> RecordFields.documentId(m, "nul"))
                .getMessage().contains("null"));
        assertThrows(DataException.class, () -> RecordFields.documentId(m, "empty"));
        assertThrows(DataException.class, () -> RecordFields.documentId(m, "f"));
        assertThrows(DataException.class, () -> RecordFields.documentId(m, "long"));
    }
}
