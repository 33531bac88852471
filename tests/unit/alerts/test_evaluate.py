"""The pure evaluation: one window's counts (and history) and a state in, a state and an alert out."""

from __future__ import annotations

from loglane.alerts.evaluate import AlertState, RuleState, WindowCounts, evaluate, observe
from tests.unit.alerts.rules import CHECKOUT, T0, rule

MINUTE = 60_000
COUNT = rule({"count": {"level": "ERROR", "window": "1m", "above": 10}}, channels=["hook"], severity="P1")
RATIO = rule({"ratio": {"level": "WARN", "window": "1m", "above": 0.25, "min_events": 20}})
BASELINE = rule({"baseline": {"level": "ERROR", "window": "1m", "factor": 3, "windows": 3, "min_count": 5}})


def window(n: int = 0, **levels: int) -> WindowCounts:
    start = T0 + n * MINUTE
    return WindowCounts(start, start + MINUTE, levels, {"ERROR": ("e1", "e2"), "FATAL": ("f1",), "INFO": ("i1",)})


def test_count_is_over_the_level_and_above_it() -> None:
    assert observe(COUNT, window(ERROR=9, FATAL=2, INFO=500)).met  # 11 at or above ERROR
    assert not observe(COUNT, window(ERROR=10, WARN=50)).met  # 10 is not above 10


def test_ratio_needs_its_minimum_of_events() -> None:
    assert observe(RATIO, window(WARN=5, ERROR=1, INFO=14)).met  # 6 of 20 = 0.3
    assert not observe(RATIO, window(WARN=5, INFO=15)).met  # 0.25 is not above 0.25
    assert not observe(RATIO, window(ERROR=10, INFO=9)).met  # 19 events: too few to call it a rate


def test_baseline_compares_with_the_mean_of_the_windows_before() -> None:
    history = [window(-3, ERROR=2), window(-2, ERROR=4), window(-1)]  # mean 2
    seen = observe(BASELINE, window(ERROR=7), history)
    assert (seen.met, seen.observed, seen.threshold) == (True, 7.0, 6.0)
    assert not observe(BASELINE, window(ERROR=6), history).met  # not above 3 x 2
    assert not observe(BASELINE, window(ERROR=4), []).met  # above a baseline of 0, but under min_count


def test_fires_once_with_the_windows_figures_and_resolves_with_the_same_id() -> None:
    state, fired = evaluate(COUNT, CHECKOUT, window(0, ERROR=30), [], RuleState(), now=T0 + 70_000)
    assert fired is not None and fired.state is AlertState.FIRED
    assert (fired.observed, fired.threshold, fired.window_start, fired.window_end) == (30.0, 10.0, T0, T0 + MINUTE)
    assert (fired.severity, fired.channels, fired.resolved_at) == ("P1", ("hook",), None)
    assert fired.sample_event_ids == ("f1", "e1", "e2")  # most severe first, none below the level

    state, again = evaluate(COUNT, CHECKOUT, window(1, ERROR=50), [], state, now=T0 + 130_000)
    assert again is None and state.firing and state.observed == 50  # the same episode: silent, peak kept

    state, resolved = evaluate(COUNT, CHECKOUT, window(2, ERROR=3), [], state, now=T0 + 190_000)
    assert resolved is not None and resolved.state is AlertState.RESOLVED
    assert (resolved.alert_id, resolved.fired_at, resolved.resolved_at) == (fired.alert_id, T0 + 70_000, T0 + 190_000)
    assert resolved.observed == 50 and not state.firing


def test_the_alert_id_is_the_same_when_the_same_window_is_decided_again() -> None:
    _, first = evaluate(COUNT, CHECKOUT, window(0, ERROR=30), [], RuleState(), now=1)
    _, second = evaluate(COUNT, CHECKOUT, window(0, ERROR=31), [], RuleState(), now=2)
    assert first is not None and second is not None and first.alert_id == second.alert_id


def test_a_new_episode_waits_for_the_cooldown_after_the_last_fire() -> None:
    cooling = rule({"count": {"level": "ERROR", "window": "1m", "above": 10}}, cooldown="5m")
    state, fired = evaluate(cooling, CHECKOUT, window(0, ERROR=30), [], RuleState(), now=0)
    state, resolved = evaluate(cooling, CHECKOUT, window(1), [], state, now=0)
    assert fired and resolved
    for n in (2, 3, 4):  # windows ending 3, 4 and 5 minutes in: within 5 minutes of the first's end (1 m)
        state, quiet = evaluate(cooling, CHECKOUT, window(n, ERROR=30), [], state, now=0)
        assert quiet is None and not state.firing
    state, refired = evaluate(cooling, CHECKOUT, window(5, ERROR=30), [], state, now=0)
    assert refired is not None and refired.alert_id != fired.alert_id


def test_a_rule_that_no_longer_applies_resolves_its_open_episode() -> None:
    state, _ = evaluate(COUNT, CHECKOUT, window(0, ERROR=30), [], RuleState(), now=0)
    state, resolved = evaluate(COUNT, CHECKOUT, window(1, ERROR=30), [], state, now=5, applies=False)
    assert resolved is not None and resolved.state is AlertState.RESOLVED and "no longer covers" in resolved.summary


def test_the_state_survives_json() -> None:
    state, _ = evaluate(COUNT, CHECKOUT, window(0, ERROR=30), [], RuleState(), now=0)
    assert RuleState.from_json(state.to_json()) == state
    quiet = RuleState(last_fired_end=5)
    assert RuleState.from_json(quiet.to_json()) == quiet
