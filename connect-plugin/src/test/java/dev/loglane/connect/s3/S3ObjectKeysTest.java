package dev.loglane.connect.s3;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

class S3ObjectKeysTest {

    static long ms(String iso) {
        return Instant.parse(iso).toEpochMilli();
    }

    @Test
    void keyLayout() {
        assertEquals("raw/app-logs/year=2024/month=05/day=01/hour=09/app-logs+3+00000000000000000042.jsonl.gz",
                S3ObjectKeys.key("raw/", "app-logs", ms("2024-05-01T09:59:59.999Z"), "app-logs", 3, 42));
        assertEquals("app-logs/year=2024/month=12/day=31/hour=23/app-logs+0+09223372036854775807.jsonl.gz",
                S3ObjectKeys.key("", "app-logs", ms("2024-12-31T23:00:00Z"), "app-logs", 0, Long.MAX_VALUE));
    }

    @Test
    void hourBoundaries() {
        long h = ms("2024-05-01T10:00:00Z");
        assertEquals(h, S3ObjectKeys.hourStart(h));
        assertEquals(h, S3ObjectKeys.hourStart(h + 3_599_999));
        assertEquals(h + 3_600_000, S3ObjectKeys.hourStart(h + 3_600_000));
        assertEquals(ms("1969-12-31T23:00:00Z"), S3ObjectKeys.hourStart(-1));
        assertEquals("year=2024/month=05/day=01/hour=10", S3ObjectKeys.datePath(h + 3_599_999));
        assertEquals("year=2024/month=05/day=01/hour=11", S3ObjectKeys.datePath(h + 3_600_000));
        assertEquals("year=2024/month=02/day=29/hour=00", S3ObjectKeys.datePath(ms("2024-02-29T00:30:00Z")));
        assertNotEquals(S3ObjectKeys.key("", "t", h, "t", 0, 1), S3ObjectKeys.key("", "t", h + 3_600_000, "t", 0, 1));
    }
}
