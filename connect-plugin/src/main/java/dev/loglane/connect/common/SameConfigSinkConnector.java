package dev.loglane.connect.common;

import dev.loglane.connect.Version;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.connect.connector.Task;
import org.apache.kafka.connect.sink.SinkConnector;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/** A sink connector whose tasks all get the connector's own configuration, validated at start. */
public abstract class SameConfigSinkConnector extends SinkConnector {

    private final ConfigDef configDef;
    private final Function<Map<String, String>, ?> validate;
    private final Class<? extends Task> taskClass;
    private Map<String, String> props;

    protected SameConfigSinkConnector(
            ConfigDef configDef, Function<Map<String, String>, ?> validate, Class<? extends Task> taskClass) {
        this.configDef = configDef;
        this.validate = validate;
        this.taskClass = taskClass;
    }

    @Override
    public String version() {
        return Version.get();
    }

    @Override
    public void start(Map<String, String> props) {
        validate.apply(props); // fail fast on invalid configuration
        this.props = new HashMap<>(props);
    }

    @Override
    public Class<? extends Task> taskClass() {
        return taskClass;
    }

    @Override
    public List<Map<String, String>> taskConfigs(int maxTasks) {
        List<Map<String, String>> configs = new ArrayList<>(maxTasks);
        for (int i = 0; i < maxTasks; i++) {
            configs.add(new HashMap<>(props));
        }
        return configs;
    }

    @Override
    public void stop() {
        props = null;
    }

    @Override
    public ConfigDef config() {
        return configDef;
    }
}
