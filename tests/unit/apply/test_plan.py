"""The plan model: per-key diffs with secrets masked, dependency order, summary and rendering."""

from loglane.apply.plan import MASK, Action, Change, Kind, Plan, Step, decide, diff_config


def test_diff_config_lists_only_changed_keys_old_to_new() -> None:
    changes = diff_config({"a": "1", "b": "2", "gone": "x"}, {"a": "1", "b": "3", "new": "y"})
    assert [c.render() for c in changes] == ["b: 2 -> 3", "gone: x -> (removed)", "new: y"]


def test_diff_config_from_nothing_lists_every_key() -> None:
    assert diff_config(None, {"k": "v"}) == (Change("k", None, "v"),)
    assert Change("user", "admin", "").render() == 'user: admin -> ""'


def test_diff_config_masks_secret_values_on_both_sides() -> None:
    (change,) = diff_config({"password": "old-secret"}, {"password": "new-secret"}, secret_keys={"password"})
    assert change.render() == f"password: {MASK} -> {MASK}"


def test_decide_prefers_refusal_then_create_then_update() -> None:
    change = (Change("k", "1", "2"),)
    assert decide(True, change, ("no",)) is Action.REFUSED
    assert decide(False, ()) is Action.CREATE
    assert decide(True, change) is Action.UPDATE
    assert decide(True, ()) is Action.UNCHANGED


def test_plan_orders_steps_by_dependency_keeping_file_order_within_a_kind() -> None:
    steps = [
        Step(Kind.CONNECTOR, "sink", Action.CREATE),
        Step(Kind.TEMPLATE, "logs", Action.CREATE),
        Step(Kind.TOPIC, "b", Action.CREATE),
        Step(Kind.SCHEMA, "b-value", Action.CREATE),
        Step(Kind.TOPIC, "a", Action.CREATE),
    ]
    ordered = [s.title for s in Plan.of(steps).steps]
    assert ordered == ["topic b", "topic a", "schema b-value", "template logs", "connector sink"]


def test_plan_renders_symbols_changes_notes_refusals_and_a_summary() -> None:
    plan = Plan.of(
        [
            Step(Kind.TOPIC, "t", Action.UPDATE, (Change("retention.ms", "1", "2"),), ("capped",)),
            Step(Kind.SCHEMA, "t-value", Action.REFUSED, refusals=('field "level": incompatible',)),
            Step(Kind.TEMPLATE, "logs", Action.UNCHANGED),
        ]
    )
    assert plan.render() == [
        "~ update topic t",
        "    retention.ms: 1 -> 2",
        "    note: capped",
        "! refused schema t-value",
        '    refused: field "level": incompatible',
        "= unchanged template logs",
        "Plan: 0 to create, 1 to update, 1 unchanged, 1 refused.",
    ]
    assert [s.name for s in plan.pending] == ["t"]
    assert [s.name for s in plan.refused] == ["t-value"]
