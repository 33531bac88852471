package dev.loglane.connect.opensearch;

import dev.loglane.connect.common.Backoff;
import dev.loglane.connect.common.ErrantRecords;
import dev.loglane.connect.common.HttpTransport;
import dev.loglane.connect.common.RecordFields;
import org.apache.kafka.connect.errors.ConnectException;
import org.apache.kafka.connect.errors.DataException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Sends documents with the {@code _bulk} API, retrying transient failures with exponential backoff and routing
 * permanently rejected documents to the errant record reporter.
 */
public final class BulkWriter {

    private static final Logger log = LoggerFactory.getLogger(BulkWriter.class);
    private static final int MAX_BODY_IN_MESSAGE = 500;

    /** Counts of one {@link #write} call. */
    public static final class Result {
        public final int indexed;
        public final int rejected;
        public final int retries;

        Result(int indexed, int rejected, int retries) {
            this.indexed = indexed;
            this.rejected = rejected;
            this.retries = retries;
        }
    }

    private final HttpTransport transport;
    private final List<URI> baseUrls;
    private final String authorization; // null when no auth
    private final int maxRetries;
    private final Backoff backoff;
    private final Backoff.Sleeper sleeper;
    private final Duration timeout;
    private int urlIndex;

    public BulkWriter(HttpTransport transport, List<URI> baseUrls, String username, String password, int maxRetries,
                      Backoff backoff, Backoff.Sleeper sleeper, Duration timeout) {
        if (baseUrls.isEmpty()) {
            throw new IllegalArgumentException("no OpenSearch URL");
        }
        this.transport = transport;
        this.baseUrls = List.copyOf(baseUrls);
        this.authorization = username == null || username.isEmpty() ? null
                : "Basic " + Base64.getEncoder().encodeToString(
                        (username + ":" + (password == null ? "" : password)).getBytes(StandardCharsets.UTF_8));
        this.maxRetries = maxRetries;
        this.backoff = backoff;
        this.sleeper = sleeper;
        this.timeout = timeout;
    }

    /**
     * Writes all actions. Returns once every action is either indexed or reported as errant.
     *
     * @throws ConnectException when transient failures outlast {@code max.retries}, when OpenSearch rejects the
     *                          whole request (e.g. 401/403/413), or when a rejected document cannot be reported
     */
    public Result write(List<BulkAction> actions, ErrantRecords errant) {
        List<BulkAction> pending = actions;
        int indexed = 0;
        int rejected = 0;
        String lastFailure = null;
        for (int attempt = 0; ; attempt++) {
            if (attempt > 0) {
                if (attempt > maxRetries) {
                    throw new ConnectException("Bulk request to OpenSearch failed after " + maxRetries
                            + " retries; " + pending.size() + " document(s) not indexed. Last failure: " + lastFailure);
                }
                long delay = backoff.delayMs(attempt - 1);
                log.warn("Retrying {} document(s) in {} ms (retry {}/{}): {}",
                        pending.size(), delay, attempt, maxRetries, lastFailure);
                sleeper.pause(delay, "a bulk request");
            }
            URI url = currentUrl();
            HttpTransport.Response resp;
            try {
                resp = transport.send("POST", url, headers(), BulkRequest.bodyBytes(pending), timeout);
            } catch (IOException e) {
                lastFailure = "I/O error talking to " + url + ": " + e;
                rotateUrl();
                continue;
            }
            int status = resp.status();
            if (status == 429 || status >= 500) {
                lastFailure = "HTTP " + status + " from " + url + ": " + snippet(resp);
                rotateUrl();
                continue;
            }
            if (status < 200 || status >= 300) {
                throw new ConnectException("OpenSearch rejected the bulk request with HTTP " + status + " from " + url
                        + (status == 413 ? " (request too large: lower bulk.max.actions)" : "")
                        + (status == 401 || status == 403 ? " (check opensearch.username/opensearch.password "
                        + "and the user's permissions)" : "")
                        + ": " + snippet(resp));
            }
            BulkResponse parsed;
            try {
                parsed = BulkResponse.parse(resp.bodyText());
                if (parsed.items().size() != pending.size()) {
                    throw new IllegalArgumentException("bulk response has " + parsed.items().size()
                            + " items for " + pending.size() + " actions");
                }
            } catch (IllegalArgumentException e) {
                // Re-sending is safe: every action is an idempotent index with an explicit _id.
                lastFailure = "unreadable bulk response from " + url + ": " + e.getMessage();
                continue;
            }
            List<BulkAction> retry = new ArrayList<>();
            String firstRetryError = null;
            for (int i = 0; i < pending.size(); i++) {
                BulkAction action = pending.get(i);
                BulkResponse.Item item = parsed.items().get(i);
                if (item.isSuccess()) {
                    indexed++;
                } else if (item.isRetriable()) {
                    retry.add(action);
                    if (firstRetryError == null) {
                        firstRetryError = "item status " + item.status() + " " + item.describeError();
                    }
                } else {
                    rejected++;
                    String message = "OpenSearch rejected document index=" + action.index() + " id=" + action.id()
                            + " status=" + item.status() + ": " + item.describeError();
                    errant.report(action.record(), new DataException(message));
                }
            }
            if (retry.isEmpty()) {
                return new Result(indexed, rejected, attempt);
            }
            lastFailure = retry.size() + " item(s) need a retry, e.g. " + firstRetryError;
            pending = retry;
        }
    }

    private Map<String, String> headers() {
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Content-Type", "application/x-ndjson");
        h.put("Accept", "application/json");
        if (authorization != null) {
            h.put("Authorization", authorization);
        }
        return h;
    }

    private URI currentUrl() {
        return URI.create(baseUrls.get(urlIndex).toString() + "/_bulk");
    }

    private void rotateUrl() {
        urlIndex = (urlIndex + 1) % baseUrls.size();
    }


    private static String snippet(HttpTransport.Response resp) {
        String s = RecordFields.truncate(resp.bodyText().replace('\n', ' '), MAX_BODY_IN_MESSAGE);
        return s.isEmpty() ? "(empty body)" : s;
    }
}
