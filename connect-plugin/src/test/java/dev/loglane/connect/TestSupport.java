package dev.loglane.connect;

import dev.loglane.connect.common.HttpTransport;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.metrics.PluginMetrics;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.connect.data.Schema;
import org.apache.kafka.connect.sink.ErrantRecordReporter;
import org.apache.kafka.connect.sink.SinkRecord;
import org.apache.kafka.connect.sink.SinkTaskContext;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.function.Function;

/** Fakes shared by the tests. */
public final class TestSupport {

    private TestSupport() {
    }

    public static SinkRecord record(String topic, int partition, long offset, Schema schema, Object value, Long timestamp) {
        return new SinkRecord(topic, partition, null, null, schema, value, offset, timestamp,
                timestamp == null ? TimestampType.NO_TIMESTAMP_TYPE : TimestampType.CREATE_TIME);
    }

    /** A reported errant record. */
    public static final class Reported {
        public final SinkRecord record;
        public final Throwable error;

        Reported(SinkRecord record, Throwable error) {
            this.record = record;
            this.error = error;
        }
    }

    public static final class RecordingReporter implements ErrantRecordReporter {
        public final List<Reported> reported = new ArrayList<>();

        @Override
        public Future<Void> report(SinkRecord record, Throwable error) {
            reported.add(new Reported(record, error));
            return CompletableFuture.completedFuture(null);
        }
    }

    public static final class FakeContext implements SinkTaskContext {
        private final ErrantRecordReporter reporter;

        public FakeContext(ErrantRecordReporter reporter) {
            this.reporter = reporter;
        }

        @Override
        public Map<String, String> configs() {
            return Collections.emptyMap();
        }

        @Override
        public void offset(Map<TopicPartition, Long> offsets) {
        }

        @Override
        public void offset(TopicPartition tp, long offset) {
        }

        @Override
        public void timeout(long timeoutMs) {
        }

        @Override
        public Set<TopicPartition> assignment() {
            return Collections.emptySet();
        }

        @Override
        public void pause(TopicPartition... partitions) {
        }

        @Override
        public void resume(TopicPartition... partitions) {
        }

        @Override
        public void requestCommit() {
        }

        @Override
        public ErrantRecordReporter errantRecordReporter() {
            return reporter;
        }

        @Override
        public PluginMetrics pluginMetrics() {
            return null;
        }
    }

    /** A sent request. */
    public static final class Request {
        public final String method;
        public final URI uri;
        public final Map<String, String> headers;
        public final byte[] body;

        Request(String method, URI uri, Map<String, String> headers, byte[] body) {
            this.method = method;
            this.uri = uri;
            this.headers = headers;
            this.body = body;
        }

        public String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** Answers requests from a script of responses/exceptions, or from a function. */
    public static final class FakeTransport implements HttpTransport {
        public final List<Request> requests = new ArrayList<>();
        private final Deque<Object> script = new ArrayDeque<>();
        private Function<Request, Response> handler;

        public FakeTransport respond(int status, String body) {
            script.add(new Response(status, body.getBytes(StandardCharsets.UTF_8)));
            return this;
        }

        public FakeTransport fail(IOException e) {
            script.add(e);
            return this;
        }

        public FakeTransport handler(Function<Request, Response> handler) {
            this.handler = handler;
            return this;
        }

        @Override
        public Response send(String method, URI uri, Map<String, String> headers, byte[] body, Duration timeout)
                throws IOException {
            Request req = new Request(method, uri, new LinkedHashMap<>(headers), body);
            requests.add(req);
            Object next = script.poll();
            if (next == null) {
                if (handler != null) {
                    return handler.apply(req);
                }
                throw new AssertionError("unexpected request " + method + " " + uri);
            }
            if (next instanceof IOException) {
                throw (IOException) next;
            }
            return (Response) next;
        }
    }

    /** Records sleeps instead of sleeping. */
    public static final class RecordingSleeper implements dev.loglane.connect.common.Backoff.Sleeper {
        public final List<Long> sleeps = new ArrayList<>();

        @Override
        public void sleep(long millis) {
            sleeps.add(millis);
        }
    }
}
