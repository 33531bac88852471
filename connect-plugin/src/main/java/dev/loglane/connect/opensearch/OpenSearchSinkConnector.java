package dev.loglane.connect.opensearch;

import dev.loglane.connect.common.SameConfigSinkConnector;

/** Sink connector that indexes record values into OpenSearch with the bulk API. See README.md for the keys. */
public class OpenSearchSinkConnector extends SameConfigSinkConnector {

    public OpenSearchSinkConnector() {
        super(OpenSearchSinkConfig.CONFIG_DEF, OpenSearchSinkConfig::new, OpenSearchSinkTask.class);
    }
}
