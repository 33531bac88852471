package dev.loglane.connect.opensearch;

import dev.loglane.connect.common.JsonWriter;

import java.nio.charset.StandardCharsets;
import java.util.List;

/** Formats the NDJSON body of a {@code _bulk} request. */
public final class BulkRequest {

    private BulkRequest() {
    }

    /**
     * One action line {@code {"index":{"_index":...,"_id":...}}} followed by the document line per action; every
     * line, including the last, ends with a newline as the bulk API requires.
     */
    public static String body(List<BulkAction> actions) {
        int size = 0;
        for (BulkAction a : actions) {
            size += a.document().length() + a.index().length() + a.id().length() + 40;
        }
        StringBuilder sb = new StringBuilder(size);
        for (BulkAction a : actions) {
            sb.append("{\"index\":{\"_index\":");
            JsonWriter.writeString(sb, a.index());
            sb.append(",\"_id\":");
            JsonWriter.writeString(sb, a.id());
            sb.append("}}\n");
            sb.append(a.document()).append('\n');
        }
        return sb.toString();
    }

    public static byte[] bodyBytes(List<BulkAction> actions) {
        return body(actions).getBytes(StandardCharsets.UTF_8);
    }
}
