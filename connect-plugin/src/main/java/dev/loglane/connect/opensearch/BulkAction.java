package dev.loglane.connect.opensearch;

import org.apache.kafka.connect.sink.SinkRecord;

/** One {@code index} action of a bulk request: where the document goes, and the record it came from. */
public final class BulkAction {

    private final SinkRecord record;
    private final String index;
    private final String id;
    private final String document;

    public BulkAction(SinkRecord record, String index, String id, String document) {
        this.record = record;
        this.index = index;
        this.id = id;
        this.document = document;
    }

    public SinkRecord record() {
        return record;
    }

    public String index() {
        return index;
    }

    public String id() {
        return id;
    }

    /** The document as single-line JSON. */
    public String document() {
        return document;
    }
}
