package dev.loglane.connect.s3;

import dev.loglane.connect.Version;
import dev.loglane.connect.common.Backoff;
import dev.loglane.connect.common.ErrantRecords;
import dev.loglane.connect.common.HttpTransport;
import dev.loglane.connect.common.JdkHttpTransport;
import dev.loglane.connect.common.JsonWriter;
import dev.loglane.connect.common.RecordFields;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.DataException;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTask;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;

/**
 * Buffers records per (topic-partition, UTC hour of event time) as gzip-compressed JSON Lines in memory and
 * uploads each buffer as one object.
 *
 * <p>Upload trigger: when an open file reaches {@code flush.size} records, or when one is older than
 * {@code rotate.interval.ms} at the end of a put or at an offset commit, <em>all</em> open files of that
 * topic-partition are uploaded together. Cutting a partition in one go keeps the committed offset at a file
 * boundary: everything before it is uploaded, nothing after it is, so a replay starts new files exactly where the
 * previous run did and size-triggered files get the same keys and contents.
 *
 * <p>Offsets: {@link #preCommit} returns, per partition, the offset of the first record still buffered, or the
 * offset after the last processed record if nothing is buffered. Buffers are discarded on {@link #close} and
 * {@link #stop}; the records are consumed again from the committed offset by whoever owns the partition next.
 */
public class S3SinkTask extends SinkTask {

    private static final Logger log = LoggerFactory.getLogger(S3SinkTask.class);
    static final String CONTENT_TYPE = "application/gzip";

    private final HttpTransport transportOverride;
    private final Backoff.Sleeper sleeper;
    private final Clock clock;

    private S3Uploader uploader;
    private ErrantRecords errant;
    private String prefix;
    private String timestampField;
    private int flushSize;
    private long rotateIntervalMs;
    private String bucket;

    private final Map<TopicPartition, PartitionState> partitions = new HashMap<>();
    /** An upload failure seen during preCommit, rethrown by the next put() to fail the task. */
    private ConnectException pendingFailure;

    public S3SinkTask() {
        this(null, Backoff.Sleeper.THREAD, Clock.systemUTC());
    }

    /** For tests. */
    S3SinkTask(HttpTransport transport, Backoff.Sleeper sleeper, Clock clock) {
        this.transportOverride = transport;
        this.sleeper = sleeper;
        this.clock = clock;
    }

    @Override
    public String version() {
        return Version.get();
    }

    @Override
    public void start(Map<String, String> props) {
        S3SinkConfig config = new S3SinkConfig(props);
        prefix = config.prefix();
        timestampField = config.timestampField();
        flushSize = config.flushSize();
        rotateIntervalMs = config.rotateIntervalMs();
        bucket = config.bucket();
        Duration timeout = Duration.ofMillis(config.requestTimeoutMs());
        HttpTransport transport = transportOverride != null ? transportOverride : new JdkHttpTransport(timeout);
        SigV4Signer signer = new SigV4Signer(config.accessKeyId(), config.secretAccessKey().value(),
                config.region(), "s3");
        uploader = new S3Uploader(transport, config.endpoint(), bucket, signer, config.maxRetries(),
                new Backoff(config.retryBackoffMs(), config.retryBackoffMaxMs()), sleeper, timeout, clock);
        errant = ErrantRecords.fromContext(context, log);
        partitions.clear();
        pendingFailure = null;
        log.info("S3 sink task started: endpoint={} bucket={} prefix='{}' flush.size={} rotate.interval.ms={} "
                        + "errant reporter={}", config.endpoint(), bucket, prefix, flushSize, rotateIntervalMs,
                errant.hasReporter() ? "configured" : "none");
    }

    @Override
    public void put(Collection<SinkRecord> records) {
        if (pendingFailure != null) {
            throw pendingFailure;
        }
        int buffered = 0;
        int errantCount = 0;
        for (SinkRecord record : records) {
            TopicPartition tp = new TopicPartition(record.originalTopic(), record.originalKafkaPartition());
            long offset = record.originalKafkaOffset();
            PartitionState state = partitions.computeIfAbsent(tp, PartitionState::new);
            if (offset <= state.lastProcessedOffset) {
                // Not expected (this task never rewinds the consumer). Write it anyway: a duplicate line is
                // preferable to silently dropping a record.
                log.warn("Record {} arrived again after offset {}; writing it again", ErrantRecords.describe(record),
                        state.lastProcessedOffset);
            }
            byte[] line;
            long eventTime;
            try {
                line = toLine(record);
                eventTime = RecordFields.eventTimeMillis(record, timestampField);
            } catch (DataException e) {
                errantCount++;
                errant.report(record, e);
                state.lastProcessedOffset = offset;
                continue;
            }
            long hour = S3ObjectKeys.hourStart(eventTime);
            String fileId = record.topic() + '\n' + hour;
            OpenFile file = state.files.get(fileId);
            if (file == null) {
                String key = S3ObjectKeys.key(prefix, record.topic(), hour, tp.topic(), tp.partition(), offset);
                file = new OpenFile(key, offset, clock.millis());
                state.files.put(fileId, file);
            }
            file.append(line, offset);
            state.lastProcessedOffset = offset;
            buffered++;
            if (file.count >= flushSize) {
                uploadPartition(state, "flush.size reached");
            }
        }
        rotateAgedFiles();
        if (log.isDebugEnabled() && !records.isEmpty()) {
            log.debug("Put of {} record(s): {} buffered, {} errant; open files: {}",
                    records.size(), buffered, errantCount, openFileCount());
        }
    }

    static byte[] toLine(SinkRecord record) {
        if (record.value() == null) {
            throw new DataException("Record value is null (tombstone); nothing to write");
        }
        return (JsonWriter.toJson(record.value()) + '\n').getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public Map<TopicPartition, OffsetAndMetadata> preCommit(Map<TopicPartition, OffsetAndMetadata> currentOffsets) {
        if (pendingFailure == null) {
            try {
                rotateAgedFiles();
            } catch (ConnectException e) {
                // Throwing here would only make the framework rewind and carry on; fail the task on the next put
                // instead. Offsets below stay correct: files that failed to upload are still buffered.
                log.error("Upload failed during offset commit; the task will fail on its next put", e);
                pendingFailure = e;
            }
        }
        Map<TopicPartition, OffsetAndMetadata> result = new HashMap<>();
        for (TopicPartition tp : currentOffsets.keySet()) {
            PartitionState state = partitions.get(tp);
            if (state == null) {
                continue;
            }
            long committable = state.committableOffset();
            if (committable >= 0) {
                result.put(tp, new OffsetAndMetadata(committable));
            }
        }
        return result;
    }

    @Override
    public void open(Collection<TopicPartition> assigned) {
        log.debug("Assigned partitions: {}", assigned);
    }

    @Override
    public void close(Collection<TopicPartition> closed) {
        for (TopicPartition tp : closed) {
            PartitionState state = partitions.remove(tp);
            if (state != null && !state.files.isEmpty()) {
                int records = 0;
                for (OpenFile f : state.files.values()) {
                    records += f.count;
                }
                log.info("Discarding {} buffered record(s) of {} on close; they will be consumed again from offset {}",
                        records, tp, state.committableOffset());
            }
        }
    }

    @Override
    public void stop() {
        partitions.clear();
        uploader = null;
        log.info("S3 sink task stopped");
    }

    private void rotateAgedFiles() {
        if (rotateIntervalMs < 0) {
            return;
        }
        long now = clock.millis();
        for (PartitionState state : partitions.values()) {
            for (OpenFile f : state.files.values()) {
                if (now - f.createdAtMs >= rotateIntervalMs) {
                    uploadPartition(state, "rotate.interval.ms elapsed");
                    break;
                }
            }
        }
    }

    private void uploadPartition(PartitionState state, String reason) {
        List<Map.Entry<String, OpenFile>> files = new ArrayList<>(state.files.entrySet());
        files.sort((a, b) -> Long.compare(a.getValue().startOffset, b.getValue().startOffset));
        for (Map.Entry<String, OpenFile> entry : files) {
            OpenFile f = entry.getValue();
            byte[] body = f.finish();
            long start = System.nanoTime();
            uploader.put(f.key, body, CONTENT_TYPE);
            state.files.remove(entry.getKey());
            log.debug("Uploaded s3://{}/{} ({} record(s), offsets {}-{}, {} bytes, {} ms; {})", bucket, f.key,
                    f.count, f.startOffset, f.lastOffset, body.length, (System.nanoTime() - start) / 1_000_000, reason);
        }
    }

    private int openFileCount() {
        int n = 0;
        for (PartitionState s : partitions.values()) {
            n += s.files.size();
        }
        return n;
    }

    /** Test hook: keys of the files currently buffered. */
    List<String> openKeys() {
        List<String> keys = new ArrayList<>();
        for (PartitionState s : partitions.values()) {
            for (OpenFile f : s.files.values()) {
                keys.add(f.key);
            }
        }
        return keys;
    }

    private static final class PartitionState {
        final TopicPartition tp;
        /** Open files by (topic directory, hour), in creation order. */
        final Map<String, OpenFile> files = new LinkedHashMap<>();
        long lastProcessedOffset = -1;

        PartitionState(TopicPartition tp) {
            this.tp = tp;
        }

        /** Offset up to which everything is uploaded or reported, or -1 if nothing was processed. */
        long committableOffset() {
            long min = Long.MAX_VALUE;
            for (OpenFile f : files.values()) {
                min = Math.min(min, f.startOffset);
            }
            if (min != Long.MAX_VALUE) {
                return min;
            }
            return lastProcessedOffset < 0 ? -1 : lastProcessedOffset + 1;
        }

        @Override
        public String toString() {
            return tp.toString();
        }
    }

    /** One object being built: gzip-compressed JSON Lines. */
    private static final class OpenFile {
        final String key;
        final long startOffset;
        final long createdAtMs;
        long lastOffset;
        int count;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream(16 * 1024);
        private GZIPOutputStream gzip;
        private byte[] finished;

        OpenFile(String key, long startOffset, long createdAtMs) {
            this.key = key;
            this.startOffset = startOffset;
            this.createdAtMs = createdAtMs;
            try {
                this.gzip = new GZIPOutputStream(bytes, 8192);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        void append(byte[] line, long offset) {
            if (gzip == null) {
                throw new IllegalStateException("file " + key + " is already finished");
            }
            try {
                gzip.write(line);
            } catch (IOException e) {
                throw new UncheckedIOException(e); // in-memory stream: cannot happen
            }
            count++;
            lastOffset = offset;
        }

        /** Completes the gzip stream (idempotent, so a failed upload can be retried by a later attempt). */
        byte[] finish() {
            if (finished == null) {
                try {
                    gzip.close();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                finished = bytes.toByteArray();
                gzip = null;
            }
            return finished;
        }
    }
}
