package dev.loglane.connect.opensearch;

import dev.loglane.connect.common.JsonReader;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/** Parsed {@code _bulk} response: one {@link Item} per action, in request order. */
public final class BulkResponse {

    /** Outcome of one action. */
    public static final class Item {
        private final int status;
        private final String index;
        private final String id;
        private final String errorType;
        private final String errorReason;
        private final String causedBy;

        public Item(int status, String index, String id, String errorType, String errorReason, String causedBy) {
            this.status = status;
            this.index = index;
            this.id = id;
            this.errorType = errorType;
            this.errorReason = errorReason;
            this.causedBy = causedBy;
        }

        public int status() {
            return status;
        }

        public String index() {
            return index;
        }

        public String id() {
            return id;
        }

        public String errorType() {
            return errorType;
        }

        public String errorReason() {
            return errorReason;
        }

        /** "type: reason" of the root cause chain below the error, or null. */
        public String causedBy() {
            return causedBy;
        }

        public boolean isSuccess() {
            return status >= 200 && status < 300 && errorType == null;
        }

        /** Back-pressure or temporary unavailability of a shard: retry the item later. */
        public boolean isRetriable() {
            return !isSuccess() && isRetriableStatus(status);
        }

        /** A rejection that retrying cannot fix (mapping errors, invalid ids, ...). */
        public boolean isPermanentFailure() {
            return !isSuccess() && !isRetriable();
        }

        /** e.g. {@code mapper_parsing_exception: failed to parse field [x] (caused by: ...)} */
        public String describeError() {
            StringBuilder sb = new StringBuilder();
            sb.append(errorType == null ? "unknown_error" : errorType);
            if (errorReason != null) {
                sb.append(": ").append(errorReason);
            }
            if (causedBy != null) {
                sb.append(" (caused by: ").append(causedBy).append(')');
            }
            return sb.toString();
        }
    }

    private final boolean errors;
    private final List<Item> items;

    private BulkResponse(boolean errors, List<Item> items) {
        this.errors = errors;
        this.items = Collections.unmodifiableList(items);
    }

    public static boolean isRetriableStatus(int status) {
        return status == 429 || status == 502 || status == 503 || status == 504;
    }

    public boolean hasErrors() {
        return errors;
    }

    public List<Item> items() {
        return items;
    }

    /**
     * Parses a bulk response body.
     *
     * @throws IllegalArgumentException if the body is not a bulk response
     */
    public static BulkResponse parse(String body) {
        Object root;
        try {
            root = JsonReader.parse(body);
        } catch (JsonReader.JsonParseException e) {
            throw new IllegalArgumentException("Bulk response is not valid JSON: " + e.getMessage(), e);
        }
        if (!(root instanceof Map)) {
            throw new IllegalArgumentException("Bulk response is not a JSON object");
        }
        Map<?, ?> map = (Map<?, ?>) root;
        Object itemsObj = map.get("items");
        if (!(itemsObj instanceof List)) {
            throw new IllegalArgumentException("Bulk response has no 'items' array");
        }
        boolean errors = Boolean.TRUE.equals(map.get("errors"));
        List<Item> items = new ArrayList<>();
        for (Object entry : (List<?>) itemsObj) {
            if (!(entry instanceof Map) || ((Map<?, ?>) entry).isEmpty()) {
                throw new IllegalArgumentException("Bulk response item is not an object");
            }
            // {"index": {...}} (or create/update/delete): the single value holds the result
            Object result = ((Map<?, ?>) entry).values().iterator().next();
            if (!(result instanceof Map)) {
                throw new IllegalArgumentException("Bulk response item has no result object");
            }
            items.add(parseItem((Map<?, ?>) result));
        }
        return new BulkResponse(errors, items);
    }

    private static Item parseItem(Map<?, ?> result) {
        Object statusObj = result.get("status");
        if (!(statusObj instanceof Number)) {
            throw new IllegalArgumentException("Bulk response item has no numeric 'status'");
        }
        int status = ((Number) statusObj).intValue();
        String index = str(result.get("_index"));
        String id = str(result.get("_id"));
        Object error = result.get("error");
        String type = null;
        String reason = null;
        String causedBy = null;
        if (error instanceof Map) {
            Map<?, ?> err = (Map<?, ?>) error;
            type = str(err.get("type"));
            reason = str(err.get("reason"));
            causedBy = causeChain(err.get("caused_by"));
            if (type == null) {
                type = "unknown_error";
            }
        } else if (error != null) {
            type = "error";
            reason = String.valueOf(error);
        }
        return new Item(status, index, id, type, reason, causedBy);
    }

    private static String causeChain(Object cause) {
        StringBuilder sb = new StringBuilder();
        int depth = 0;
        while (cause instanceof Map && depth < 5) {
            Map<?, ?> c = (Map<?, ?>) cause;
            if (sb.length() > 0) {
                sb.append(" <- ");
            }
            sb.append(str(c.get("type"))).append(": ").append(str(c.get("reason")));
            cause = c.get("caused_by");
            depth++;
        }
        return sb.length() == 0 ? null : sb.toString();
    }

    private static String str(Object o) {
        return o == null ? null : o.toString();
    }
}
