package dev.loglane.connect.opensearch;

import dev.loglane.connect.Version;
import dev.loglane.connect.common.Backoff;
import dev.loglane.connect.common.ErrantRecords;
import dev.loglane.connect.common.HttpTransport;
import dev.loglane.connect.common.JdkHttpTransport;
import dev.loglane.connect.common.JsonWriter;
import dev.loglane.connect.common.RecordFields;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.data.Struct;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Writes record values as documents with the {@code _bulk} API. Every {@link #put} is written synchronously, so
 * the offsets Connect commits afterwards always cover indexed (or errant-reported) records only.
 */
public class OpenSearchSinkTask extends SinkTask {

    private static final Logger log = LoggerFactory.getLogger(OpenSearchSinkTask.class);

    private final HttpTransport transportOverride;
    private final Backoff.Sleeper sleeper;

    private IndexNameRenderer indexRenderer;
    private String timestampField;
    private String idField;
    private int bulkMaxActions;
    private BulkWriter writer;
    private ErrantRecords errant;

    public OpenSearchSinkTask() {
        this(null, Backoff.Sleeper.THREAD);
    }

    /** For tests: a fake transport and sleeper. */
    OpenSearchSinkTask(HttpTransport transport, Backoff.Sleeper sleeper) {
        this.transportOverride = transport;
        this.sleeper = sleeper;
    }

    @Override
    public String version() {
        return Version.get();
    }

    @Override
    public void start(Map<String, String> props) {
        OpenSearchSinkConfig config = new OpenSearchSinkConfig(props);
        indexRenderer = config.indexRenderer();
        timestampField = config.timestampField();
        idField = config.idField();
        bulkMaxActions = config.bulkMaxActions();
        Duration timeout = Duration.ofMillis(config.requestTimeoutMs());
        HttpTransport transport = transportOverride != null ? transportOverride : new JdkHttpTransport(timeout);
        writer = new BulkWriter(transport, config.urls(), config.username(), config.password().value(),
                config.maxRetries(), new Backoff(config.retryBackoffMs(), config.retryBackoffMaxMs()), sleeper,
                timeout);
        errant = ErrantRecords.fromContext(context, log);
        log.info("OpenSearch sink task started: urls={} index.pattern={} document.id.field={} errant reporter={}",
                config.urls(), indexRenderer.pattern(), idField, errant.hasReporter() ? "configured" : "none");
    }

    @Override
    public void put(Collection<SinkRecord> records) {
        if (records.isEmpty()) {
            return;
        }
        long startNanos = System.nanoTime();
        List<BulkAction> actions = new ArrayList<>(Math.min(records.size(), bulkMaxActions));
        int unconvertible = 0;
        int indexed = 0;
        int rejected = 0;
        int retries = 0;
        for (SinkRecord record : records) {
            BulkAction action;
            try {
                action = toAction(record);
            } catch (DataException e) {
                unconvertible++;
                errant.report(record, e);
                continue;
            }
            actions.add(action);
            if (actions.size() >= bulkMaxActions) {
                BulkWriter.Result r = writer.write(actions, errant);
                indexed += r.indexed;
                rejected += r.rejected;
                retries += r.retries;
                actions = new ArrayList<>(Math.min(records.size(), bulkMaxActions));
            }
        }
        if (!actions.isEmpty()) {
            BulkWriter.Result r = writer.write(actions, errant);
            indexed += r.indexed;
            rejected += r.rejected;
            retries += r.retries;
        }
        if (log.isDebugEnabled()) {
            log.debug("Bulk batch of {} record(s): {} indexed, {} rejected by OpenSearch, {} unconvertible, "
                            + "{} retry round(s), {} ms", records.size(), indexed, rejected, unconvertible, retries,
                    (System.nanoTime() - startNanos) / 1_000_000);
        }
    }

    /** Converts a record to an index action. */
    BulkAction toAction(SinkRecord record) {
        Object value = record.value();
        if (value == null) {
            throw new DataException("Record value is null (tombstone); a document cannot be built");
        }
        if (!(value instanceof Struct) && !(value instanceof Map)) {
            throw new DataException("Record value must be a Struct or a Map to become a document, got "
                    + value.getClass().getName());
        }
        String id = RecordFields.documentId(value, idField);
        long eventTime = RecordFields.eventTimeMillis(record, timestampField);
        String index = indexRenderer.render(eventTime);
        String document = JsonWriter.toJson(value);
        return new BulkAction(record, index, id, document);
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> preCommit(Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
        // put() is synchronous: everything handed to us has been indexed or reported.
        return currentOffsets;
    }

    @Override
    public void stop() {
        writer = null;
        log.info("OpenSearch sink task stopped");
    }
}
