"""`loglane validate | plan | apply | schemas check | connectors status` against the real stack.

Each test applies a temporary copy of the project whose topics, subjects, template and connectors
carry the test's unique suffix, so it never touches the real pipeline's resources or another test's."""

from __future__ import annotations


import pytest
import requests
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

from loglane.settings import Settings
from tests.support import Project, eventually


def topic_config(settings: Settings, topic: str, key: str) -> str:
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    resource = ConfigResource(ResourceType.TOPIC, topic)
    value: str = admin.describe_configs([resource])[resource].result(timeout=30)[key].value
    return value


def subject_versions(settings: Settings, subject: str) -> list[int]:
    versions: list[int] = requests.get(f"{settings.registry_url}/subjects/{subject}/versions", timeout=10).json()
    return versions


def test_validate_reports_connects_own_errors_per_key_and_uninstalled_classes(project: Project) -> None:
    project.edit_connector("s3-archive", **{"errors.tolerance": "sometimes"})
    project.edit_connector("postgres-logs", **{"connector.class": "com.example.NoSuchSink"})

    result = project.cli("validate")

    assert result.exit_code == 78, result.output
    assert "reachability: ok (kafka, registry, connect, opensearch)" in result.output
    assert (
        f'  connector "s3-archive-{project.unique}": "errors.tolerance": Invalid value sometimes for configuration '
        "errors.tolerance: String must be one of: none, all"
    ) in result.output
    assert (
        f'  connector "postgres-logs-{project.unique}": "connector.class": com.example.NoSuchSink is not installed '
        "in Connect"
    ) in result.output


def test_apply_creates_everything_and_a_second_apply_changes_nothing(project: Project, settings: Settings) -> None:
    # Arrange: the copy is valid, Connect included.
    validated = project.cli("validate")
    assert validated.exit_code == 0, validated.output

    # Act
    applied = project.cli("apply", "--yes")

    # Assert: every resource exists, the connectors run, a second apply and plan find nothing to do.
    assert applied.exit_code == 0, applied.output
    assert "Plan: 32 to create, 0 to update, 0 unchanged, 0 refused." in applied.output
    raw = project.topic("logs.raw")
    assert f"+ create topic {raw}" in applied.output
    assert topic_config(settings, raw, "retention.ms") == "259200000"
    config = requests.get(f"{settings.registry_url}/config/{raw}-value", timeout=10).json()
    assert config["compatibilityLevel"] == "FULL_TRANSITIVE"
    template = requests.get(f"{settings.opensearch_url}/_index_template/logs-template-{project.unique}", timeout=10)
    assert template.ok

    def running() -> str:
        result = project.cli("connectors", "status")
        return result.output if result.exit_code == 0 else ""

    status = eventually(running, 90, what="every connector and task RUNNING")
    assert f'connector "s3-archive-{project.unique}": RUNNING' in status
    assert "    task 0: RUNNING" in status

    again = project.cli("apply", "--yes")
    assert again.exit_code == 0, again.output
    assert again.output.splitlines()[-2:] == ["Plan: 0 to create, 0 to update, 32 unchanged, 0 refused.",
                                              "Nothing to apply."]
    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output
    assert all(line.startswith("= unchanged ") for line in plan.output.splitlines()[:-1])


def test_a_retention_change_is_planned_as_an_update_and_applied(project: Project, settings: Settings) -> None:
    assert project.cli("apply", "--yes").exit_code == 0
    project.edit_topics("raw", config={"retention.ms": "86400000"})

    plan = project.cli("plan", "--detailed-exitcode")
    assert plan.exit_code == 3, plan.output
    assert f"~ update topic {project.topic('logs.raw')}\n    retention.ms: 259200000 -> 86400000\n" in plan.output
    assert "Plan: 0 to create, 1 to update, 31 unchanged, 0 refused." in plan.output

    applied = project.cli("apply", "--yes")
    assert applied.exit_code == 0, applied.output
    assert topic_config(settings, project.topic("logs.raw"), "retention.ms") == "86400000"
    assert project.cli("plan", "--detailed-exitcode").exit_code == 0


def test_a_partition_decrease_is_refused_not_ignored(project: Project) -> None:
    assert project.cli("apply", "--yes").exit_code == 0
    project.edit_topics("deadletter", partitions=1)

    plan = project.cli("plan")

    assert plan.exit_code == 1, plan.output
    assert f"! refused topic {project.topic('logs.deadletter')}" in plan.output
    assert "refused: partitions 3 -> 1: Kafka cannot remove partitions" in plan.output


def test_an_incompatible_schema_is_refused_naming_the_field_and_nothing_is_applied(
    project: Project, settings: Settings
) -> None:
    # Arrange: applied; then a type change, a field without a default, and a harmless retention change.
    assert project.cli("apply", "--yes").exit_code == 0
    project.edit_schema("log_event.avsc", "level", type="int")
    project.edit_schema("dead_letter.avsc", "attempts", type="int")
    project.edit_topics("raw", config={"retention.ms": "86400000"})

    # Act
    applied = project.cli("apply", "--yes")

    # Assert: refused with subject and field named; the registry and the topic are as they were.
    assert applied.exit_code == 1, applied.output
    raw_subject, dead_subject = f"{project.topic('logs.raw')}-value", f"{project.topic('logs.deadletter')}-value"
    level_refused = f'refused: subject "{raw_subject}" (schemas/log_event.avsc): field "level" (/fields/4/type): '
    assert level_refused in applied.output
    assert f'refused: subject "{dead_subject}" (schemas/dead_letter.avsc): field "attempts"' in applied.output
    assert "refused, nothing was applied" in applied.stderr
    assert subject_versions(settings, raw_subject) == [1]
    assert subject_versions(settings, dead_subject) == [1]
    assert topic_config(settings, project.topic("logs.raw"), "retention.ms") == "259200000"


def test_schemas_check_passes_on_the_tree_and_fails_on_an_incompatible_change(
    project: Project, settings: Settings
) -> None:
    raw_subject = f"{project.topic('logs.raw')}-value"
    before = project.cli("schemas", "check")
    assert before.exit_code == 0, before.output
    assert f"ok    {raw_subject} (schemas/log_event.avsc): not registered yet" in before.output

    assert project.cli("apply", "--yes").exit_code == 0
    project.edit_schema("log_event.avsc", "region", type=["null", "string"], default=None)
    compatible = project.cli("schemas", "check")
    assert compatible.exit_code == 0, compatible.output
    assert f"ok    {raw_subject} (schemas/log_event.avsc): compatible" in compatible.output
    assert project.cli("apply", "--yes").exit_code == 0
    assert subject_versions(settings, raw_subject) == [1, 2]

    project.edit_schema("log_event.avsc", "service", type="long")
    incompatible = project.cli("schemas", "check")
    assert incompatible.exit_code == 1, incompatible.output
    assert f"FAIL  {raw_subject} (schemas/log_event.avsc): INCOMPATIBLE" in incompatible.output
    assert 'field "service" (/fields/2/type)' in incompatible.output


def test_other_registries_are_checked_through_the_confluent_api(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Apicurio's ccompat API stands in for a Confluent registry: it answers is_compatible only.
    assert project.cli("apply", "--yes").exit_code == 0
    monkeypatch.setattr("loglane.apply.http.is_apicurio", lambda settings: False)
    project.edit_schema("log_event.avsc", "service", type="long")

    result = project.cli("schemas", "check")

    assert result.exit_code == 1, result.output
    raw_subject = f"{project.topic('logs.raw')}-value"
    assert f'subject "{raw_subject}" (schemas/log_event.avsc): not compatible under the subject' in result.output
