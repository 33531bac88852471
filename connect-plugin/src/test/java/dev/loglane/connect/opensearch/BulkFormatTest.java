package dev.loglane.connect.opensearch;

import dev.loglane.connect.TestSupport;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BulkFormatTest {

    static BulkAction action(String index, String id, String doc) {
        return new BulkAction(TestSupport.record("t", 0, 0, null, null, 0L), index, id, doc);
    }

    @Test
    void requestBodyIsNdjsonWithIndexActions() {
        String body = BulkRequest.body(Arrays.asList(
                action("logs-2024.05.01", "e-1", "{\"msg\":\"a\"}"),
                action("logs-2024.05.02", "id \"quoted\"\\", "{\"msg\":\"b\\nc\"}")));
        assertEquals("{\"index\":{\"_index\":\"logs-2024.05.01\",\"_id\":\"e-1\"}}\n"
                + "{\"msg\":\"a\"}\n"
                + "{\"index\":{\"_index\":\"logs-2024.05.02\",\"_id\":\"id \\\"quoted\\\"\\\\\"}}\n"
                + "{\"msg\":\"b\\nc\"}\n", body);
        assertTrue(body.endsWith("\n"));
        assertEquals(4, body.split("\n").length);
    }

    static final String MIXED = "{\"took\":30,\"errors\":true,\"items\":["
            + "{\"index\":{\"_index\":\"logs-2024.05.01\",\"_id\":\"1\",\"_version\":1,\"result\":\"created\","
            + "\"_shards\":{\"total\":2,\"successful\":1,\"failed\":0},\"_seq_no\":0,\"_primary_term\":1,\"status\":201}},"
            + "{\"index\":{\"_index\":\"logs-2024.05.01\",\"_id\":\"2\",\"status\":400,\"error\":{"
            + "\"type\":\"mapper_parsing_exception\",\"reason\":\"failed to parse field [count] of type [long] in document with id '2'\","
            + "\"caused_by\":{\"type\":\"illegal_argument_exception\",\"reason\":\"For input string: \\\"abc\\\"\"}}}},"
            + "{\"index\":{\"_index\":\"logs-2024.05.01\",\"_id\":\"3\",\"status\":429,\"error\":{"
            + "\"type\":\"es_rejected_execution_exception\",\"reason\":\"rejected execution\"}}},"
            + "{\"index\":{\"_index\":\"logs-2024.05.01\",\"_id\":\"4\",\"_version\":3,\"result\":\"updated\",\"status\":200}},"
            + "{\"index\":{\"_index\":\"logs-2024.05.01\",\"_id\":\"5\",\"status\":503,\"error\":{"
            + "\"type\":\"unavailable_shards_exception\",\"reason\":\"primary shard is not active\"}}},"
            + "{\"index\":{\"_index\":\"Bad\",\"_id\":\"6\",\"status\":400,\"error\":{"
            + "\"type\":\"invalid_index_name_exception\",\"reason\":\"Invalid index name [Bad], must be lowercase\"}}}"
            + "]}";

    @Test
    void responseParsingClassifiesItems() {
        BulkResponse r = BulkResponse.parse(MIXED);
        assertTrue(r.hasErrors());
        List<BulkResponse.Item> items = r.items();
        assertEquals(6, items.size());

        assertTrue(items.get(0).isSuccess());
        assertEquals(201, items.get(0).status());
        assertNull(items.get(0).errorType());

        BulkResponse.Item mapping = items.get(1);
        assertTrue(mapping.isPermanentFailure());
        assertEquals("mapper_parsing_exception", mapping.errorType());
        assertEquals("mapper_parsing_exception: failed to parse field [count] of type [long] in document with id '2'"
                + " (caused by: illegal_argument_exception: For input string: \"abc\")", mapping.describeError());

        assertTrue(items.get(2).isRetriable());
        assertTrue(items.get(3).isSuccess());
        assertTrue(items.get(4).isRetriable());
        assertTrue(items.get(5).isPermanentFailure());
        assertEquals("6", items.get(5).id());
    }

    @Test
    void responseWithoutErrors() {
        BulkResponse r = BulkResponse.parse("{\"took\":1,\"errors\":false,\"items\":[{\"index\":{\"_id\":\"a\",\"status\":201}},"
                + "{\"create\":{\"_id\":\"b\",\"status\":201}}]}");
        assertFalse(r.hasErrors());
        assertEquals(2, r.items().size());
        assertTrue(r.items().stream().allMatch(BulkResponse.Item::isSuccess));
    }

    @Test
    void malformedResponsesAreRejected() {
        for (String bad : new String[]{"", "[]", "{\"errors\":false}", "{\"items\":[1]}", "{\"items\":[{\"index\":{}}]}",
                "<html>oops</html>"}) {
            assertThrows(IllegalArgumentException.class, () -> BulkResponse.parse(bad), bad);
        }
    }
}
