package dev.loglane.connect.opensearch;

import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IndexNameRendererTest {

    static long ms(String iso) {
        return Instant.parse(iso).toEpochMilli();
    }

    @Test
    void rendersDailyPatternInUtc() {
        IndexNameRenderer r = IndexNameRenderer.parse("logs-{yyyy.MM.dd}");
        assertEquals("logs-2024.05.01", r.render(ms("2024-05-01T00:00:00Z")));
        assertEquals("logs-2024.05.01", r.render(ms("2024-05-01T23:59:59.999Z")));
        assertEquals("logs-2024.05.02", r.render(ms("2024-05-02T00:00:00Z")));
        // 20:30 in New York on Apr 30 is already May 1 in UTC
        assertEquals("logs-2024.05.01", r.render(ms("2024-05-01T00:30:00Z")));
        assertEquals("logs-1969.12.31", r.render(-1));
        assertFalse(r.isStatic());
    }

    @Test
    void multipleSectionsAndLiterals() {
        IndexNameRenderer r = IndexNameRenderer.parse("app-{yyyy}-logs-{MM}.{HH}h");
        assertEquals("app-2023-logs-12.07h", r.render(ms("2023-12-31T07:15:00Z")));
        IndexNameRenderer w = IndexNameRenderer.parse("logs-{YYYY}.w{ww}");
        assertTrue(w.render(ms("2024-05-01T00:00:00Z")).startsWith("logs-2024.w"));
        assertEquals("logs-2024.05.01", IndexNameRenderer.parse("logs-{yyyy.MM.dd}").render(ms("2024-05-01T06:00:00Z")));
        assertEquals("logs-2024.05.01.x", IndexNameRenderer.parse("{'logs-'yyyy.MM.dd'.x'}").render(ms("2024-05-01T06:00:00Z")));
    }

    @Test
    void staticPattern() {
        IndexNameRenderer r = IndexNameRenderer.parse("loglane");
        assertTrue(r.isStatic());
        assertEquals("loglane", r.render(0));
    }

    @Test
    void invalidPatternsAreRejected() {
        for (String bad : new String[]{"", "  ", "logs-{yyyy", "logs-}", "logs-{}", "logs-{{yyyy}}", "logs-{yyyy.bb}", "logs-{'unclosed}"}) {
            assertThrows(IllegalArgumentException.class, () -> IndexNameRenderer.parse(bad), bad);
        }
    }

    @Test
    void configValidatesPattern() {
        Map<String, String> props = new HashMap<>();
        props.put(OpenSearchSinkConfig.URLS, "http://127.0.0.1:9200");
        props.put(OpenSearchSinkConfig.DOCUMENT_ID_FIELD, "event_id");
        props.put(OpenSearchSinkConfig.INDEX_PATTERN, "logs-{yyyy");
        ConfigException e = assertThrows(ConfigException.class, () -> new OpenSearchSinkConfig(props));
        assertTrue(e.getMessage().contains("index.pattern"), e.getMessage());
    }
}
