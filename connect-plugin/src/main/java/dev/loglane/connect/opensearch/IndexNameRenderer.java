package dev.loglane.connect.opensearch;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Renders index names from a pattern such as {@code logs-{yyyy.MM.dd}}: text inside braces is a
 * {@link DateTimeFormatter} pattern applied to the event time in UTC; text outside braces is copied literally.
 * Several date sections are allowed ({@code logs-{yyyy}-{MM}}); a pattern without braces is a fixed index name.
 * Braces cannot be nested or escaped.
 */
public final class IndexNameRenderer {

    private final String pattern;
    /** Each part is either a String (literal) or a DateTimeFormatter. */
    private final List<Object> parts;

    private IndexNameRenderer(String pattern, List<Object> parts) {
        this.pattern = pattern;
        this.parts = Collections.unmodifiableList(parts);
    }

    /** @throws IllegalArgumentException for unbalanced braces, empty sections or invalid date patterns */
    public static IndexNameRenderer parse(String pattern) {
        if (pattern == null || pattern.trim().isEmpty()) {
            throw new IllegalArgumentException("Index pattern must not be empty");
        }
        List<Object> parts = new ArrayList<>();
        StringBuilder literal = new StringBuilder();
        int i = 0;
        while (i < pattern.length()) {
            char c = pattern.charAt(i);
            if (c == '{') {
                int end = pattern.indexOf('}', i + 1);
                if (end < 0) {
                    throw new IllegalArgumentException("Unclosed '{' at position " + i + " in index pattern '" + pattern + "'");
                }
                String fmt = pattern.substring(i + 1, end);
                if (fmt.isEmpty()) {
                    throw new IllegalArgumentException("Empty '{}' in index pattern '" + pattern + "'");
                }
                if (fmt.indexOf('{') >= 0) {
                    throw new IllegalArgumentException("Nested '{' in index pattern '" + pattern + "'");
                }
                DateTimeFormatter formatter;
                try {
                    formatter = DateTimeFormatter.ofPattern(fmt).withZone(ZoneOffset.UTC);
                    formatter.format(Instant.EPOCH); // fail early on fields an Instant in UTC cannot supply
                } catch (RuntimeException e) {
                    throw new IllegalArgumentException("Invalid date pattern '{" + fmt + "}' in index pattern '"
                            + pattern + "': " + e.getMessage());
                }
                if (literal.length() > 0) {
                    parts.add(literal.toString());
                    literal.setLength(0);
                }
                parts.add(formatter);
                i = end + 1;
            } else if (c == '}') {
                throw new IllegalArgumentException("Unmatched '}' at position " + i + " in index pattern '" + pattern + "'");
            } else {
                literal.append(c);
                i++;
            }
        }
        if (literal.length() > 0) {
            parts.add(literal.toString());
        }
        return new IndexNameRenderer(pattern, parts);
    }

    public String render(long epochMillis) {
        Instant instant = Instant.ofEpochMilli(epochMillis);
        StringBuilder sb = new StringBuilder(pattern.length() + 8);
        for (Object p : parts) {
            if (p instanceof String) {
                sb.append((String) p);
            } else {
                ((DateTimeFormatter) p).formatTo(instant, sb);
            }
        }
        return sb.toString();
    }

    public boolean isStatic() {
        return parts.size() <= 1 && (parts.isEmpty() || parts.get(0) instanceof String);
    }

    public String pattern() {
        return pattern;
    }

    @Override
    public String toString() {
        return pattern;
    }
}
