package dev.loglane.connect.s3;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;

/**
 * Object key layout:
 * {@code {prefix}{topic}/year=YYYY/month=MM/day=DD/hour=HH/{topic}+{partition}+{startOffset:020d}.jsonl.gz},
 * with the date path taken from the event time in UTC. Keys are a pure function of their inputs, so a replay of
 * the same records produces the same key and overwrites the object instead of duplicating it.
 */
public final class S3ObjectKeys {

    public static final long HOUR_MS = 3_600_000L;
    public static final String EXTENSION = ".jsonl.gz";

    private S3ObjectKeys() {
    }

    /** Start of the UTC hour containing {@code epochMillis}. */
    public static long hourStart(long epochMillis) {
        return Math.floorDiv(epochMillis, HOUR_MS) * HOUR_MS;
    }

    /** {@code year=YYYY/month=MM/day=DD/hour=HH} for the UTC hour containing {@code epochMillis}. */
    public static String datePath(long epochMillis) {
        ZonedDateTime t = Instant.ofEpochMilli(epochMillis).atZone(ZoneOffset.UTC);
        return String.format("year=%04d/month=%02d/day=%02d/hour=%02d",
                t.getYear(), t.getMonthValue(), t.getDayOfMonth(), t.getHour());
    }

    /**
     * @param prefix      configured key prefix (used verbatim)
     * @param topic       topic directory name
     * @param epochMillis event time of the file's records (any instant within the hour)
     * @param fileTopic   topic in the file name (the topic the records were consumed from)
     * @param partition   partition the records were consumed from
     * @param startOffset offset of the first record in the file
     */
    public static String key(String prefix, String topic, long epochMillis, String fileTopic, int partition,
                             long startOffset) {
        return prefix + topic + '/' + datePath(epochMillis) + '/'
                + fileTopic + '+' + partition + '+' + String.format("%020d", startOffset) + EXTENSION;
    }
}
