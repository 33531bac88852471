package dev.loglane.connect;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** The project version, filtered into {@code version.properties} by Maven at build time. */
public final class Version {

    private static final String VERSION = load();

    private Version() {
    }

    public static String get() {
        return VERSION;
    }

    private static String load() {
        try (InputStream in = Version.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                Properties props = new Properties();
                props.load(in);
                String v = props.getProperty("version", "").trim();
                if (!v.isEmpty() && !v.startsWith("${")) {
                    return v;
                }
            }
        } catch (IOException ignored) {
            // fall through
        }
        return "unknown";
    }
}
