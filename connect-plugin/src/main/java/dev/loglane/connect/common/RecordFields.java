package dev.loglane.connect.common;

import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.sink.SinkRecord;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Date;
import java.util.Map;

/**
 * Helpers to read a field of a record value (a {@link Struct} or a schemaless {@link Map}) and to derive the event
 * time and document id from it.
 *
 * <p>Field names are looked up as-is first; if there is no such top-level field and the name contains dots, it is
 * treated as a path into nested structs/maps ({@code "event.created"}).
 */
public final class RecordFields {

    /** Marker returned by {@link #lookup} when the field does not exist (as opposed to existing with value null). */
    private static final Object ABSENT = new Object();

    private RecordFields() {
    }

    /** Returns the field value, or {@code null} if the field is absent or null. */
    public static Object get(Object value, String fieldName) {
        Object v = lookup(value, fieldName);
        return v == ABSENT ? null : v;
    }

    private static Object lookup(Object value, String fieldName) {
        Object direct = child(value, fieldName);
        if (direct != ABSENT || fieldName.indexOf('.') < 0) {
            return direct;
        }
        Object current = value;
        for (String part : fieldName.split("\\.", -1)) {
            current = child(current, part);
            if (current == ABSENT || current == null) {
                return current;
            }
        }
        return current;
    }

    private static Object child(Object container, String name) {
        if (container instanceof Struct) {
            Struct struct = (Struct) container;
            Field f = struct.schema().field(name);
            return f == null ? ABSENT : struct.get(f);
        }
        if (container instanceof Map) {
            Map<?, ?> map = (Map<?, ?>) container;
            if (!map.containsKey(name)) {
                return ABSENT;
            }
            return map.get(name);
        }
        return ABSENT;
    }

    /**
     * Event time in epoch millis.
     *
     * <p>If {@code fieldName} is empty, or the field is absent or null, the Kafka record timestamp is used. A present
     * value must be a {@link Date} (Connect Timestamp logical type), an integral number (epoch millis), an
     * {@link Instant}, or an ISO-8601 string (with offset/zone; without one it is taken as UTC; a date alone means
     * midnight UTC; a string of digits is epoch millis).
     *
     * @throws DataException if the field holds something that is not a timestamp, or if no timestamp is available
     */
    public static long eventTimeMillis(SinkRecord record, String fieldName) {
        if (fieldName != null && !fieldName.isEmpty()) {
            Object v = record.value() == null ? null : get(record.value(), fieldName);
            if (v != null) {
                return toEpochMillis(v, fieldName);
            }
        }
        Long ts = record.timestamp();
        if (ts == null) {
            throw new DataException("No event time: field '" + fieldName + "' is missing and the record has no timestamp");
        }
        return ts;
    }

    static long toEpochMillis(Object v, String fieldName) {
        if (v instanceof Date) {
            return ((Date) v).getTime();
        }
        if (v instanceof Instant) {
            return ((Instant) v).toEpochMilli();
        }
        if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte) {
            return ((Number) v).longValue();
        }
        if (v instanceof BigInteger || v instanceof BigDecimal) {
            try {
                return new BigDecimal(v.toString()).longValueExact();
            } catch (ArithmeticException e) {
                throw new DataException("Timestamp field '" + fieldName + "' is not an integral epoch-millis value: " + v);
            }
        }
        if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (Double.isFinite(d)) {
                return (long) Math.floor(d);
            }
            throw new DataException("Timestamp field '" + fieldName + "' is not finite: " + v);
        }
        if (v instanceof CharSequence) {
            return parseTimestamp(v.toString(), fieldName);
        }
        throw new DataException("Timestamp field '" + fieldName + "' has unsupported type " + v.getClass().getName());
    }

    static long parseTimestamp(String raw, String fieldName) {
        String s = raw.trim();
        if (!s.isEmpty() && s.chars().allMatch(c -> c >= '0' && c <= '9') && s.length() <= 18) {
            return Long.parseLong(s);
        }
        // allow "2024-05-01 12:00:00Z" (space instead of 'T')
        if (s.length() > 10 && s.charAt(10) == ' ') {
            s = s.substring(0, 10) + 'T' + s.substring(11);
        }
        try {
            return OffsetDateTime.parse(s, DateTimeFormatter.ISO_OFFSET_DATE_TIME).toInstant().toEpochMilli();
        } catch (DateTimeParseException ignored) {
            // next
        }
        try {
            return ZonedDateTime.parse(s, DateTimeFormatter.ISO_ZONED_DATE_TIME).toInstant().toEpochMilli();
        } catch (DateTimeParseException ignored) {
            // next
        }
        try {
            return LocalDateTime.parse(s, DateTimeFormatter.ISO_LOCAL_DATE_TIME).toInstant(ZoneOffset.UTC).toEpochMilli();
        } catch (DateTimeParseException ignored) {
            // next
        }
        try {
            return LocalDate.parse(s, DateTimeFormatter.ISO_LOCAL_DATE).atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
        } catch (DateTimeParseException ignored) {
            // fall through
        }
        throw new DataException("Timestamp field '" + fieldName + "' is not an ISO-8601 timestamp: '" + truncate(raw, 100) + "'");
    }

    /**
     * Document id from {@code fieldName}: a non-empty string, or an integral number rendered in decimal.
     *
     * @throws DataException if the field is missing, null, empty, of another type, or longer than 512 UTF-8 bytes
     */
    public static String documentId(Object value, String fieldName) {
        Object v = lookup(value, fieldName);
        if (v == ABSENT) {
            throw new DataException("Document id field '" + fieldName + "' is missing");
        }
        if (v == null) {
            throw new DataException("Document id field '" + fieldName + "' is null");
        }
        String id;
        if (v instanceof CharSequence) {
            id = v.toString();
        } else if (v instanceof Long || v instanceof Integer || v instanceof Short || v instanceof Byte
                || v instanceof BigInteger) {
            id = v.toString();
        } else if (v instanceof BigDecimal) {
            id = ((BigDecimal) v).toPlainString();
        } else {
            throw new DataException("Document id field '" + fieldName + "' has unsupported type " + v.getClass().getName());
        }
        if (id.isEmpty()) {
            throw new DataException("Document id field '" + fieldName + "' is empty");
        }
        if (id.getBytes(StandardCharsets.UTF_8).length > 512) {
            throw new DataException("Document id field '" + fieldName + "' is longer than 512 bytes");
        }
        return id;
    }

    public static String truncate(String s, int max) {
        if (s == null || s.length() <= max) {
            return s;
        }
        return s.substring(0, max) + "...";
    }
}
