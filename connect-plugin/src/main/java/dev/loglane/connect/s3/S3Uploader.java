package dev.loglane.connect.s3;

import dev.loglane.connect.common.Backoff;
import dev.loglane.connect.common.HttpTransport;
import dev.loglane.connect.common.RecordFields;
import org.apache.kafka.connect.errors.ConnectException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Uploads objects with a single SigV4-signed PUT Object request (path-style), retrying transient failures. */
public final class S3Uploader {

    private static final Logger log = LoggerFactory.getLogger(S3Uploader.class);
    private static final Pattern XML_CODE = Pattern.compile("<Code>([^<]*)</Code>");
    private static final Pattern XML_MESSAGE = Pattern.compile("<Message>([^<]*)</Message>");

    private final HttpTransport transport;
    private final URI endpoint;
    private final String bucket;
    private final SigV4Signer signer;
    private final int maxRetries;
    private final Backoff backoff;
    private final Backoff.Sleeper sleeper;
    private final Duration timeout;
    private final Clock clock;

    public S3Uploader(HttpTransport transport, URI endpoint, String bucket, SigV4Signer signer, int maxRetries,
                      Backoff backoff, Backoff.Sleeper sleeper, Duration timeout, Clock clock) {
        this.transport = transport;
        this.endpoint = endpoint;
        this.bucket = bucket;
        this.signer = signer;
        this.maxRetries = maxRetries;
        this.backoff = backoff;
        this.sleeper = sleeper;
        this.timeout = timeout;
        this.clock = clock;
    }

    /** The encoded request path of an object: {@code {endpoint path}/{bucket}/{key}}. */
    String encodedPath(String key) {
        String basePath = endpoint.getRawPath() == null ? "" : endpoint.getRawPath();
        return basePath + '/' + SigV4Signer.uriEncode(bucket, true) + '/' + SigV4Signer.encodePath(key);
    }

    /** The Host header the HTTP client will send for the endpoint. */
    String hostHeader() {
        int port = endpoint.getPort();
        boolean defaultPort = port == -1
                || ("http".equalsIgnoreCase(endpoint.getScheme()) && port == 80)
                || ("https".equalsIgnoreCase(endpoint.getScheme()) && port == 443);
        return defaultPort ? endpoint.getHost() : endpoint.getHost() + ':' + port;
    }

    /**
     * PUTs {@code body} at {@code key}.
     *
     * @throws ConnectException when the upload is rejected (4xx other than 429) or transient failures outlast
     *                          {@code max.retries}
     */
    public void put(String key, byte[] body, String contentType) {
        String path = encodedPath(key);
        URI uri = URI.create(endpoint.getScheme() + "://" + endpoint.getRawAuthority() + path);
        String payloadHash = SigV4Signer.sha256Hex(body);
        String lastFailure = null;
        for (int attempt = 0; ; attempt++) {
            if (attempt > 0) {
                if (attempt > maxRetries) {
                    throw new ConnectException("Upload of s3://" + bucket + "/" + key + " failed after " + maxRetries
                            + " retries. Last failure: " + lastFailure);
                }
                long delay = backoff.delayMs(attempt - 1);
                log.warn("Retrying upload of s3://{}/{} in {} ms (retry {}/{}): {}",
                        bucket, key, delay, attempt, maxRetries, lastFailure);
                sleeper.pause(delay, "an upload");
            }
            Instant now = clock.instant();
            Map<String, String> headers = new LinkedHashMap<>();
            headers.put("host", hostHeader());
            headers.put("content-type", contentType);
            headers.put("x-amz-content-sha256", payloadHash);
            headers.put("x-amz-date", SigV4Signer.amzDate(now));
            SigV4Signer.Signature sig = signer.sign("PUT", path, Collections.emptyMap(), headers, payloadHash, now);
            headers.put("authorization", sig.authorization());
            headers.remove("host"); // set by the HTTP client from the URI (same value)

            HttpTransport.Response resp;
            try {
                resp = transport.send("PUT", uri, headers, body, timeout);
            } catch (IOException e) {
                lastFailure = "I/O error: " + e;
                continue;
            }
            int status = resp.status();
            if (status >= 200 && status < 300) {
                return;
            }
            String detail = "HTTP " + status + " " + describeError(resp.bodyText());
            if (status == 429 || status >= 500 || status == 408) {
                lastFailure = detail;
                continue;
            }
            throw new ConnectException("S3 rejected the upload of s3://" + bucket + "/" + key + ": " + detail);
        }
    }

    static String describeError(String body) {
        Matcher code = XML_CODE.matcher(body);
        Matcher message = XML_MESSAGE.matcher(body);
        if (code.find()) {
            return code.group(1) + (message.find() ? ": " + message.group(1) : "");
        }
        String s = RecordFields.truncate(body.replace('\n', ' '), 300);
        return s.isEmpty() ? "(empty body)" : s;
    }

}
