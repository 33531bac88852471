package dev.loglane.connect.common;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonReaderTest {

    @Test
    void parsesNestedDocument() {
        Object v = JsonReader.parse(" {\"a\": [1, -2.5e1, true, false, null, \"x\\u0041\\n\\\"\\/\"], \"b\": {}, \"c\": []} ");
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(Arrays.asList(1L, -25.0, true, false, null, "xA\n\"/"), m.get("a"));
        assertTrue(((Map<?, ?>) m.get("b")).isEmpty());
        assertTrue(((List<?>) m.get("c")).isEmpty());
    }

    @Test
    void bigIntegersBecomeBigDecimal() {
        assertEquals(new java.math.BigDecimal("123456789012345678901234567890"),
                JsonReader.parse("123456789012345678901234567890"));
        assertNull(JsonReader.parse("null"));
    }

    @Test
    void rejectsMalformedInput() {
        for (String bad : new String[]{"", "{", "{\"a\" 1}", "[1,]x", "[1 2]", "\"abc", "tru", "{\"a\":1}}", "\"\\x\"", "-"}) {
            assertThrows(JsonReader.JsonParseException.class, () -> JsonReader.parse(bad), bad);
        }
    }
}
