package dev.loglane.connect.common;

import org.apache.kafka.connect.errors.ConnectException;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

/** {@link HttpTransport} over {@link java.net.http.HttpClient} (HTTP/1.1, no redirects). */
public final class JdkHttpTransport implements HttpTransport {

    private final HttpClient client;

    public JdkHttpTransport(Duration connectTimeout) {
        this.client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(connectTimeout)
                .build();
    }

    @Override
    public Response send(String method, URI uri, Map<String, String> headers, byte[] body, Duration timeout)
            throws IOException {
        HttpRequest.BodyPublisher publisher = body == null
                ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(body);
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(timeout).method(method, publisher);
        for (Map.Entry<String, String> h : headers.entrySet()) {
            if (!h.getKey().equalsIgnoreCase("host")) {
                b.header(h.getKey(), h.getValue());
            }
        }
        try {
            HttpResponse<byte[]> resp = client.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            return new Response(resp.statusCode(), resp.body());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ConnectException("Interrupted while sending " + method + " " + uri, e);
        }
    }
}
