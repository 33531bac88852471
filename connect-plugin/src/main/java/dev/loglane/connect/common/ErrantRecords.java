package dev.loglane.connect.common;

import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTaskContext;
import org.slf4j.Logger;

/**
 * Routes records that cannot be written to the Connect errant record reporter (DLQ / error log, governed by
 * {@code errors.tolerance}), or fails the task when no reporter is configured. Records are never dropped silently.
 */
public final class ErrantRecords {

    private final ErrantRecordReporter reporter;
    private final Logger log;

    public ErrantRecords(ErrantRecordReporter reporter, Logger log) {
        this.reporter = reporter;
        this.log = log;
    }

    /** Looks up the reporter from the task context; tolerates runtimes that predate the API. */
    public static ErrantRecords fromContext(SinkTaskContext context, Logger log) {
        ErrantRecordReporter reporter = null;
        if (context != null) {
            try {
                reporter = context.errantRecordReporter();
            } catch (NoSuchMethodError | NoClassDefFoundError e) {
                reporter = null;
            }
        }
        return new ErrantRecords(reporter, log);
    }

    public boolean hasReporter() {
        return reporter != null;
    }

    /**
     * Reports the record; throws {@link ConnectException} naming the record if there is no reporter.
     * The reporter itself may also throw (e.g. when {@code errors.tolerance=none}).
     */
    public void report(SinkRecord record, Throwable error) {
        String where = describe(record);
        if (reporter == null) {
            throw new ConnectException("Failed to write record " + where + ": " + error.getMessage()
                    + " (no errant record reporter is configured: set errors.tolerance=all and optionally "
                    + "errors.deadletterqueue.topic.name to route such records instead of failing)", error);
        }
        log.warn("Reporting errant record {}: {}", where, error.getMessage());
        reporter.report(record, error);
    }

    public static String describe(SinkRecord record) {
        // original* are the coordinates the record was consumed from (before any SMT)
        return "topic=" + record.originalTopic() + " partition=" + record.originalKafkaPartition()
                + " offset=" + record.originalKafkaOffset();
    }
}
