package dev.loglane.connect.common;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;

/** The one HTTP operation the sinks need; a JDK implementation is used in production, fakes in tests. */
public interface HttpTransport {

    /** An HTTP response: status code and body bytes. */
    final class Response {
        private final int status;
        private final byte[] body;

        public Response(int status, byte[] body) {
            this.status = status;
            this.body = body == null ? new byte[0] : body;
        }

        public int status() {
            return status;
        }

        public byte[] body() {
            return body;
        }

        public String bodyText() {
            return new String(body, java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /**
     * Sends a request. Must not follow redirects. {@code headers} never contains {@code Host} (the transport derives
     * it from the URI).
     *
     * @throws IOException on connection/timeout failures (treated as transient by callers)
     */
    Response send(String method, URI uri, Map<String, String> headers, byte[] body, Duration timeout) throws IOException;
}
