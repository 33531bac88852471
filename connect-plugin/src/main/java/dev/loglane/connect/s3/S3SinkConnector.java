package dev.loglane.connect.s3;

import dev.loglane.connect.common.SameConfigSinkConnector;

/** Sink connector that writes record values to S3 as hourly-partitioned gzip JSON Lines. See README.md. */
public class S3SinkConnector extends SameConfigSinkConnector {

    public S3SinkConnector() {
        super(S3SinkConfig.CONFIG_DEF, S3SinkConfig::new, S3SinkTask.class);
    }
}
