"""Topic planning: capping to the cluster, config diffs, partitions that may only grow."""

from loglane.apply.plan import Action
from loglane.apply.topics import TopicState, fit_to_cluster, plan_topic
from loglane.catalog import TopicSpec

SPEC = TopicSpec(
    role="raw",
    name="logs.raw",
    partitions=6,
    replication_factor=3,
    config={"min.insync.replicas": "2", "retention.ms": "259200000"},
)


def test_single_broker_caps_rf_and_min_isr_with_notes() -> None:
    fitted, notes = fit_to_cluster(SPEC, brokers=1)
    assert (fitted.replication_factor, fitted.config["min.insync.replicas"]) == (1, "1")
    assert notes == (
        "replication_factor 3 capped at 1 (brokers in the cluster)",
        "min.insync.replicas 2 capped at 1 (replication factor 1)",
    )


def test_three_brokers_keep_the_declaration() -> None:
    assert fit_to_cluster(SPEC, brokers=3) == (SPEC, ())


def test_missing_topic_is_created_with_partitions_rf_and_config() -> None:
    step = plan_topic(SPEC, None)
    assert step.action is Action.CREATE
    assert [c.render() for c in step.changes] == [
        "partitions: 6",
        "replication_factor: 3",
        "min.insync.replicas: 2",
        "retention.ms: 259200000",
    ]


def test_same_topic_is_unchanged_whatever_undeclared_config_it_has() -> None:
    actual = TopicState(6, 3, {**SPEC.config, "segment.bytes": "1073741824"})
    assert plan_topic(SPEC, actual, ("a capping note",)) == plan_topic(SPEC, actual)
    assert plan_topic(SPEC, actual).action is Action.UNCHANGED


def test_config_change_and_partition_increase_are_updates() -> None:
    actual = TopicState(3, 3, {**SPEC.config, "retention.ms": "86400000"})
    step = plan_topic(SPEC, actual)
    assert step.action is Action.UPDATE
    assert [c.render() for c in step.changes] == ["partitions: 3 -> 6", "retention.ms: 86400000 -> 259200000"]


def test_partition_decrease_and_rf_change_are_refused_not_ignored() -> None:
    step = plan_topic(SPEC, TopicState(12, 1, dict(SPEC.config)))
    assert step.action is Action.REFUSED
    assert step.refusals[0].startswith("partitions 12 -> 6: Kafka cannot remove partitions")
    assert step.refusals[1].startswith("replication_factor 1 -> 3: loglane does not move replicas")
