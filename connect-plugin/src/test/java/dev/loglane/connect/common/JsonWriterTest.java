package dev.loglane.connect.common;

import org.apache.kafka.connect.data.Date;
import org.apache.kafka.connect.data.Decimal;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.data.SchemaBuilder;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.data.Timestamp;
import org.apache.kafka.connect.errors.DataException;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonWriterTest {

    static final Schema HOST = SchemaBuilder.struct().name("Host")
            .field("name", Schema.STRING_SCHEMA)
            .field("ip", Schema.OPTIONAL_STRING_SCHEMA)
            .build();

    static final Schema EVENT = SchemaBuilder.struct().name("dev.loglane.Event")
            .field("event_id", Schema.STRING_SCHEMA)
            .field("ts", Timestamp.SCHEMA)
            .field("level", Schema.STRING_SCHEMA)
            .field("count", Schema.INT64_SCHEMA)
            .field("ratio", Schema.OPTIONAL_FLOAT64_SCHEMA)
            .field("ok", Schema.BOOLEAN_SCHEMA)
            .field("host", HOST)
            .field("labels", SchemaBuilder.map(Schema.STRING_SCHEMA, Schema.STRING_SCHEMA).optional().build())
            .field("tags", SchemaBuilder.array(Schema.STRING_SCHEMA).build())
            .field("spans", SchemaBuilder.array(HOST).optional().build())
            .field("payload", Schema.OPTIONAL_BYTES_SCHEMA)
            .field("message", Schema.OPTIONAL_STRING_SCHEMA)
            .field("attempt", SchemaBuilder.int32().optional().defaultValue(1).build())
            .build();

    @Test
    void structWithNestedStructMapArrayOptionalAndTimestamp() {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("env", "prod");
        labels.put("team", "core");
        Struct host = new Struct(HOST).put("name", "web-1").put("ip", "10.0.0.1");
        Struct span = new Struct(HOST).put("name", "db");
        Struct event = new Struct(EVENT)
                .put("event_id", "e-1")
                .put("ts", new java.util.Date(1714564800123L))
                .put("level", "ERROR")
                .put("count", 42L)
                .put("ratio", 0.5)
                .put("ok", true)
                .put("host", host)
                .put("labels", labels)
                .put("tags", Arrays.asList("a", "b"))
                .put("spans", Collections.singletonList(span))
                .put("payload", "hi".getBytes(StandardCharsets.UTF_8));
        // message (optional, unset) -> null; attempt (optional with default) -> default
        String json = JsonWriter.toJson(event);
        assertEquals("{\"event_id\":\"e-1\",\"ts\":\"2024-05-01T12:00:00.123Z\",\"level\":\"ERROR\",\"count\":42,"
                + "\"ratio\":0.5,\"ok\":true,\"host\":{\"name\":\"web-1\",\"ip\":\"10.0.0.1\"},"
                + "\"labels\":{\"env\":\"prod\",\"team\":\"core\"},\"tags\":[\"a\",\"b\"],"
                + "\"spans\":[{\"name\":\"db\",\"ip\":null}],\"payload\":\"aGk=\",\"message\":null,\"attempt\":1}",
                json);
    }

    @Test
    void logicalTypesDateAndDecimal() {
        Schema schema = SchemaBuilder.struct()
                .field("day", Date.SCHEMA)
                .field("amount", Decimal.schema(2))
                .field("at", Timestamp.builder().optional().build())
                .build();
        Struct s = new Struct(schema)
                .put("day", new java.util.Date(19_000L * 86_400_000L))
                .put("amount", new BigDecimal("12.34"));
        assertEquals("{\"day\":\"2022-01-08T00:00:00.000Z\",\"amount\":12.34,\"at\":null}", JsonWriter.toJson(s));
    }

    @Test
    void schemalessMapsNestAndKeepNulls() {
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("x", 1);
        inner.put("y", null);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("event_id", "abc");
        m.put("inner", inner);
        m.put("list", Arrays.asList(1L, "two", null, 3.25, Collections.singletonMap("k", false)));
        m.put("nothing", null);
        assertEquals("{\"event_id\":\"abc\",\"inner\":{\"x\":1,\"y\":null},"
                + "\"list\":[1,\"two\",null,3.25,{\"k\":false}],\"nothing\":null}", JsonWriter.toJson(m));
    }

    @Test
    void nonStringMapKeysAreStringified() {
        Map<Object, Object> m = new LinkedHashMap<>();
        m.put(1, "one");
        m.put(true, "t");
        assertEquals("{\"1\":\"one\",\"true\":\"t\"}", JsonWriter.toJson(m));
    }

    @Test
    void stringEscaping() {
        String s = "quote\" backslash\\ nl\n cr\r tab\t ctl\u0001 del\u007f ls\u2028 é 😀 </script>";
        String json = JsonWriter.toJson(s);
        assertEquals("\"quote\\\" backslash\\\\ nl\\n cr\\r tab\\t ctl\\u0001 del\\u007f ls\\u2028 é 😀 </script>\"", json);
        assertFalse(json.contains("\n"));
    }

    @Test
    void loneSurrogatesAreEscaped() {
        assertEquals("\"a\\ud800b\\udc00\"", JsonWriter.toJson("a\ud800b\udc00"));
    }

    @Test
    void numbers() {
        assertEquals("[1,2,3,4,5,1.5,2.25,1.0E20,123456789012345678901234567890,1E+3]",
                JsonWriter.toJson(Arrays.asList((byte) 1, (short) 2, 3, 4L, new java.math.BigInteger("5"), 1.5f,
                        2.25d, 1e20, new BigDecimal("123456789012345678901234567890"), new BigDecimal("1E+3"))));
        assertEquals("\"NaN\"", JsonWriter.toJson(Double.NaN));
        assertEquals("\"-Infinity\"", JsonWriter.toJson(Float.NEGATIVE_INFINITY));
        assertEquals("0.1", JsonWriter.toJson(0.1f)); // float printed as float, not widened
    }

    @Test
    void bytesAndByteBuffer() {
        ByteBuffer buf = ByteBuffer.wrap(new byte[]{0, 1, 2, (byte) 0xff});
        assertEquals("\"AAEC/w==\"", JsonWriter.toJson(buf));
        assertEquals(0, buf.position(), "buffer position must not move");
        assertEquals("\"\"", JsonWriter.toJson(new byte[0]));
    }

    @Test
    void datesAndInstantsAreIsoUtcWithMillis() {
        assertEquals("\"1970-01-01T00:00:00.000Z\"", JsonWriter.toJson(new java.util.Date(0)));
        assertEquals("\"1969-12-31T23:59:59.999Z\"", JsonWriter.toJson(new java.util.Date(-1)));
        assertEquals("\"2024-02-29T23:59:59.001Z\"", JsonWriter.toJson(Instant.parse("2024-02-29T23:59:59.001Z")));
    }

    @Test
    void arraysAndCharacters() {
        assertEquals("[1,2]", JsonWriter.toJson(new int[]{1, 2}));
        assertEquals("[\"a\",null]", JsonWriter.toJson(new String[]{"a", null}));
        assertEquals("\"c\"", JsonWriter.toJson('c'));
        assertEquals("null", JsonWriter.toJson(null));
    }

    @Test
    void unsupportedTypeIsDataException() {
        DataException e = assertThrows(DataException.class, () -> JsonWriter.toJson(
                Collections.singletonMap("x", new Object())));
        assertTrue(e.getMessage().contains("java.lang.Object"), e.getMessage());
    }

    @Test
    void outputParsesBack() {
        Map<String, Object> m = new HashMap<>();
        m.put("s", "line1\nline2 \"q\" \\ \u0000");
        List<Object> list = new ArrayList<>();
        list.add(Long.MAX_VALUE);
        list.add(-0.5);
        m.put("l", list);
        Object parsed = JsonReader.parse(JsonWriter.toJson(m));
        assertEquals(m, parsed);
    }
}
