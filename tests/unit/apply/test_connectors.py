"""Connector files: placeholders rendered, references checked, secrets never shown."""

import json
from pathlib import Path

from pydantic import SecretStr

from loglane.apply.connectors import (
    ConnectorSpec,
    load,
    parse_status,
    plan_connector,
    reference_problems,
    render,
    scrub,
)
from loglane.apply.plan import MASK, Action
from loglane.settings import Settings

SETTINGS = Settings(
    registry_url="http://registry:8081/apis/ccompat/v7",
    opensearch_username=None,
    postgres_password=SecretStr("pg-secret"),
)
TOPICS = {"processed": "logs.processed", "deadletter.postgres": "logs.deadletter.connect.postgres"}
SPEC = ConnectorSpec(
    "postgres-logs",
    {
        "connector.class": "io.debezium.connector.jdbc.JdbcSinkConnector",
        "topics": "${topic:processed}",
        "connection.url": "${setting:postgres_jdbc_url}",
        "connection.password": "${secret:postgres_password}",
        "value.converter.apicurio.registry.url": "${setting:apicurio_url}",
        "opensearch.username": "${setting:opensearch_username}",
        "collection.name.format": "${topic}",  # Connect's own placeholder: left as written
    },
)
PLUGINS = {"io.debezium.connector.jdbc.JdbcSinkConnector"}


def test_render_resolves_topics_settings_and_properties() -> None:
    config = render(SPEC, SETTINGS, TOPICS, reveal=True)
    assert config["topics"] == "logs.processed"
    assert config["connection.url"] == "jdbc:postgresql://127.0.0.1:5432/loglane"
    assert config["value.converter.apicurio.registry.url"] == "http://registry:8081/apis/registry/v3"
    assert config["opensearch.username"] == ""  # an unset optional setting
    assert config["collection.name.format"] == "${topic}"


def test_secrets_are_revealed_only_when_asked() -> None:
    assert render(SPEC, SETTINGS, TOPICS, reveal=True)["connection.password"] == "pg-secret"
    assert render(SPEC, SETTINGS, TOPICS, reveal=False)["connection.password"] == MASK
    assert SPEC.secret_keys == {"connection.password"}


def test_valid_references_have_no_problems() -> None:
    assert reference_problems(SPEC, TOPICS, PLUGINS) == []


def test_every_bad_reference_is_reported_with_connector_and_key() -> None:
    spec = ConnectorSpec(
        "s3-archive",
        {
            "connector.class": "com.example.Unknown",
            "topics": "${topic:procesed}",
            "a": "${setting:no_such_setting}",
            "b": "${setting:postgres_password}",
            "c": "${secret:opensearch_url}",
        },
    )
    problems = reference_problems(spec, TOPICS, PLUGINS)
    assert problems[0] == (
        'connector "s3-archive": "topics": ${topic:procesed}: no topic has role \'procesed\' in topics.yaml; '
        "roles: processed, deadletter.postgres"
    )
    assert problems[1].startswith('connector "s3-archive": "a": ${setting:no_such_setting}: not a loglane setting')
    assert problems[2] == (
        'connector "s3-archive": "b": ${setting:postgres_password}: postgres_password is a secret; '
        "write ${secret:postgres_password} so plans mask it"
    )
    assert problems[3] == (
        'connector "s3-archive": "c": ${secret:opensearch_url}: opensearch_url is not a secret setting; '
        "write ${setting:opensearch_url}"
    )
    assert problems[4].startswith('connector "s3-archive": "connector.class": com.example.Unknown is not a known')
    assert len(reference_problems(spec, TOPICS, None)) == 4  # online, Connect judges the class


def test_load_reports_each_broken_file_by_connector_name(tmp_path: Path) -> None:
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / "good.json").write_text(json.dumps({"connector.class": "X", "tasks.max": "1"}))
    (tmp_path / "connectors" / "broken.json").write_text("{not json")
    (tmp_path / "connectors" / "typed.json").write_text(json.dumps({"connector.class": "X", "tasks.max": 1}))
    (tmp_path / "connectors" / "named.json").write_text(json.dumps({"name": "other", "connector.class": "X"}))
    specs, errors = load(tmp_path)
    assert [s.name for s in specs] == ["good"]
    assert [e.split(":")[0] for e in errors] == ['connector "broken"', 'connector "named"', 'connector "typed"']
    assert '"tasks.max": must be a string' in errors[2]


def test_plan_masks_a_changed_secret_and_ignores_connects_name_key() -> None:
    desired = render(SPEC, SETTINGS, TOPICS, reveal=True)
    actual = {**desired, "name": "postgres-logs", "connection.password": "old-secret"}
    step = plan_connector(SPEC, desired, actual)
    assert step.action is Action.UPDATE
    assert [c.render() for c in step.changes] == [f"connection.password: {MASK} -> {MASK}"]
    assert plan_connector(SPEC, desired, {**desired, "name": "postgres-logs"}).action is Action.UNCHANGED
    assert plan_connector(SPEC, desired, None).action is Action.CREATE


def test_scrub_hides_secret_values_in_connect_messages() -> None:
    revealed = render(SPEC, SETTINGS, TOPICS, reveal=True)
    assert scrub("login failed for pg-secret", SPEC, revealed) == f"login failed for {MASK}"


def test_a_connector_is_healthy_only_when_it_and_every_task_run() -> None:
    running = {"connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "RUNNING"}]}
    failed = {"connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "FAILED", "trace": "boom\n at x"}]}
    assert parse_status("c", running).healthy
    assert not parse_status("c", failed).healthy
    assert parse_status("c", failed).tasks == ((0, "FAILED", "boom\n at x"),)
    assert not parse_status("c", {"connector": {"state": "RUNNING"}, "tasks": []}).healthy
    assert parse_status("c", None).state == "MISSING"
