package dev.loglane.connect.common;

import org.apache.kafka.connect.data.Field;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;

import java.lang.reflect.Array;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.Collection;
import java.util.Date;
import java.util.Map;

/**
 * Minimal JSON serializer for Kafka Connect values (no third-party JSON library).
 *
 * <p>Supported values:
 * <ul>
 *   <li>{@link Struct}: a JSON object with the schema's fields in schema order; a null field is written as
 *       {@code null} (a field's schema default is used when the value is null, as {@link Struct#get(Field)} does)</li>
 *   <li>{@link Map}: a JSON object; keys are converted with {@link String#valueOf(Object)}</li>
 *   <li>{@link Collection} and Java arrays (other than {@code byte[]}): a JSON array</li>
 *   <li>{@link Date} (Connect Timestamp/Date/Time logical types) and {@link Instant}: an ISO-8601 UTC string with
 *       milliseconds, e.g. {@code 2024-05-01T12:00:00.000Z}</li>
 *   <li>{@code byte[]} and {@link ByteBuffer}: a base64 string (standard alphabet, padded)</li>
 *   <li>{@link BigDecimal} (Connect Decimal logical type), integral numbers: JSON numbers</li>
 *   <li>{@link Float}/{@link Double}: JSON numbers; NaN and infinities, which JSON cannot represent, are written
 *       as the strings {@code "NaN"}, {@code "Infinity"}, {@code "-Infinity"}</li>
 *   <li>{@link Boolean}, {@link CharSequence}, {@link Character}, enums: booleans / strings</li>
 *   <li>{@code null}: {@code null}</li>
 * </ul>
 * Anything else raises a {@link DataException}. Output never contains a raw newline, so a document is always a
 * single line (required by the bulk API and JSON Lines).
 */
public final class JsonWriter {

    /** ISO-8601 with millisecond precision, always UTC ("Z"). */
    public static final DateTimeFormatter ISO_MILLIS =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

    private static final int MAX_DEPTH = 200;
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private JsonWriter() {
    }

    /** Serializes {@code value} to a single-line JSON string. */
    public static String toJson(Object value) {
        StringBuilder sb = new StringBuilder(256);
        write(sb, value, 0);
        return sb.toString();
    }

    /** Appends {@code value} as JSON to {@code sb}. */
    public static void write(StringBuilder sb, Object value) {
        write(sb, value, 0);
    }

    public static String formatTimestamp(long epochMillis) {
        return ISO_MILLIS.format(Instant.ofEpochMilli(epochMillis));
    }

    private static void write(StringBuilder sb, Object value, int depth) {
        if (depth > MAX_DEPTH) {
            throw new DataException("Value is nested deeper than " + MAX_DEPTH + " levels");
        }
        if (value == null) {
            sb.append("null");
        } else if (value instanceof CharSequence) {
            writeString(sb, value.toString());
        } else if (value instanceof Struct) {
            writeStruct(sb, (Struct) value, depth);
        } else if (value instanceof Map) {
            writeMap(sb, (Map<?, ?>) value, depth);
        } else if (value instanceof Boolean) {
            sb.append(((Boolean) value).booleanValue() ? "true" : "false");
        } else if (value instanceof Integer || value instanceof Long || value instanceof Short
                || value instanceof Byte || value instanceof BigInteger) {
            sb.append(value);
        } else if (value instanceof Double) {
            writeDouble(sb, (Double) value);
        } else if (value instanceof Float) {
            writeFloat(sb, (Float) value);
        } else if (value instanceof BigDecimal) {
            sb.append(value);
        } else if (value instanceof Date) {
            writeString(sb, formatTimestamp(((Date) value).getTime()));
        } else if (value instanceof Instant) {
            writeString(sb, ISO_MILLIS.format((Instant) value));
        } else if (value instanceof byte[]) {
            writeString(sb, Base64.getEncoder().encodeToString((byte[]) value));
        } else if (value instanceof ByteBuffer) {
            ByteBuffer buf = ((ByteBuffer) value).duplicate();
            byte[] bytes = new byte[buf.remaining()];
            buf.get(bytes);
            writeString(sb, Base64.getEncoder().encodeToString(bytes));
        } else if (value instanceof Collection) {
            writeCollection(sb, (Collection<?>) value, depth);
        } else if (value.getClass().isArray()) {
            writeArray(sb, value, depth);
        } else if (value instanceof Character || value instanceof Enum) {
            writeString(sb, value.toString());
        } else {
            throw new DataException("Unsupported value type for JSON conversion: " + value.getClass().getName());
        }
    }

    private static void writeStruct(StringBuilder sb, Struct struct, int depth) {
        sb.append('{');
        boolean first = true;
        for (Field field : struct.schema().fields()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            writeString(sb, field.name());
            sb.append(':');
            write(sb, struct.get(field), depth + 1);
        }
        sb.append('}');
    }

    private static void writeMap(StringBuilder sb, Map<?, ?> map, int depth) {
        sb.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : map.entrySet()) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            writeString(sb, String.valueOf(e.getKey()));
            sb.append(':');
            write(sb, e.getValue(), depth + 1);
        }
        sb.append('}');
    }

    private static void writeCollection(StringBuilder sb, Collection<?> values, int depth) {
        sb.append('[');
        boolean first = true;
        for (Object v : values) {
            if (!first) {
                sb.append(',');
            }
            first = false;
            write(sb, v, depth + 1);
        }
        sb.append(']');
    }

    private static void writeArray(StringBuilder sb, Object array, int depth) {
        sb.append('[');
        int n = Array.getLength(array);
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                sb.append(',');
            }
            write(sb, Array.get(array, i), depth + 1);
        }
        sb.append(']');
    }

    private static void writeDouble(StringBuilder sb, double d) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            writeString(sb, Double.toString(d));
        } else {
            sb.append(d);
        }
    }

    private static void writeFloat(StringBuilder sb, float f) {
        if (Float.isNaN(f) || Float.isInfinite(f)) {
            writeString(sb, Float.toString(f));
        } else {
            sb.append(f);
        }
    }

    /** Appends {@code s} as a quoted, escaped JSON string. */
    public static void writeString(StringBuilder sb, String s) {
        sb.append('"');
        int len = s.length();
        for (int i = 0; i < len; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    sb.append("\\\"");
                    break;
                case '\\':
                    sb.append("\\\\");
                    break;
                case '\n':
                    sb.append("\\n");
                    break;
                case '\r':
                    sb.append("\\r");
                    break;
                case '\t':
                    sb.append("\\t");
                    break;
                case '\b':
                    sb.append("\\b");
                    break;
                case '\f':
                    sb.append("\\f");
                    break;
                default:
                    if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029') {
                        unicodeEscape(sb, c);
                    } else if (Character.isHighSurrogate(c)) {
                        if (i + 1 < len && Character.isLowSurrogate(s.charAt(i + 1))) {
                            sb.append(c).append(s.charAt(i + 1));
                            i++;
                        } else {
                            // lone surrogate: escape it rather than emitting invalid UTF-8
                            unicodeEscape(sb, c);
                        }
                    } else if (Character.isLowSurrogate(c)) {
                        unicodeEscape(sb, c);
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }

    private static void unicodeEscape(StringBuilder sb, char c) {
        sb.append("\\u")
                .append(HEX[(c >> 12) & 0xF])
                .append(HEX[(c >> 8) & 0xF])
                .append(HEX[(c >> 4) & 0xF])
                .append(HEX[c & 0xF]);
    }
}
