"""Alert rules as plan steps: create, update (each changed field), unchanged, and delete (a tombstone)."""

from __future__ import annotations

import json

from loglane.apply.plan import Action, Change, Kind, Plan
from loglane.apply.records import ALERT_RULES, flatten
from tests.unit.alerts.rules import rule

STORM = rule({"count": {"window": "1m", "above": 50}}, name="storm", channels=["hook"])


def test_a_rule_not_in_the_topic_is_created() -> None:
    step = ALERT_RULES.plan_item(STORM, None)
    assert (step.kind, step.action, step.title) == (Kind.RULE, Action.CREATE, "rule storm")
    assert Change("condition.above", None, "50.0") in step.changes
    assert Change("channels.hook.url", None, '"http://127.0.0.1:9/x"') in step.changes


def test_a_changed_rule_shows_each_changed_field_and_an_equal_one_nothing() -> None:
    stricter = rule({"count": {"window": "1m", "above": 80}}, name="storm", channels=["hook"], severity="P1")
    step = ALERT_RULES.plan_item(stricter, STORM.to_bytes())
    assert step.action is Action.UPDATE
    assert step.changes == (Change("condition.above", "50.0", "80.0"), Change("severity", '"P2"', '"P1"'))
    # Formatting is not a change: the stored JSON is compared as data.
    reformatted = json.dumps(STORM.to_json(), indent=4).encode()
    assert ALERT_RULES.plan_item(STORM, reformatted).action is Action.UNCHANGED


def test_a_rule_only_in_the_topic_is_deleted_and_the_summary_says_so() -> None:
    step = ALERT_RULES.plan_removed("old-rule")
    assert (step.action, step.action.symbol, step.title) == (Action.DELETE, "-", "rule old-rule")
    plan = Plan.of([step, ALERT_RULES.plan_item(STORM, STORM.to_bytes())])
    assert plan.pending == (step,)
    assert plan.summary() == "Plan: 0 to create, 0 to update, 1 to delete, 1 unchanged, 0 refused."


def test_flatten_keys_lists_of_named_items_by_name() -> None:
    assert flatten({"a": {"b": 1}, "c": [{"name": "x", "v": 2}], "d": [1, 2]}) == {
        "a.b": "1", "c.x.v": "2", "d": "[1, 2]",
    }
