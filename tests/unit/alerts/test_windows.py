"""Windows on deterministic event streams: the engine over a dict store, as the worker runs it over
Faust tables. Events are fed in arrival order; `advance` after each, as the agent does."""

from __future__ import annotations

from collections.abc import Iterable

from loglane.alerts.evaluate import Alert
from loglane.alerts.rules import Group, Rule
from loglane.alerts.windows import Engine, MemoryStore, Sighting
from tests.unit.alerts.rules import CHECKOUT, CONFIG, STEP, T0, at, burst, rule

COUNT = rule({"count": {"level": "ERROR", "window": "1m", "grace": "10s", "above": 10}})


def engine(*rules: Rule, store: MemoryStore | None = None) -> Engine:
    return Engine(store or MemoryStore(), lambda: list(rules), CONFIG)


def feed(runner: Engine, events: Iterable[Sighting], partition: int = 0) -> list[Alert]:
    alerts: list[Alert] = []
    for event in events:
        runner.count(partition, event)
        alerts += runner.advance(partition)
    return alerts


def states(alerts: list[Alert]) -> list[tuple[str, int, float]]:
    """(state, window start from T0 in s, observed) of each alert."""
    return [(str(a.state), (a.window_start - T0) // 1000, a.observed) for a in alerts]


# Must fire


def test_a_count_above_the_threshold_fires_when_event_time_passes_the_window_and_its_grace() -> None:
    runner = engine(COUNT)
    assert feed(runner, burst(0, 11)) == []  # the window is open
    assert feed(runner, [at(69_000, "INFO")]) == []  # past its end, within its grace: still open
    fired = feed(runner, [at(70_000, "INFO")])
    assert states(fired) == [("fired", 0, 11.0)]
    assert fired[0].fired_at == T0 + 70_000  # a dry run stamps decisions with the window's close
    assert states(runner.finish(0)) == [("resolved", 0, 11.0)]


def test_a_ratio_fires() -> None:
    ratio = rule({"ratio": {"level": "ERROR", "window": "1m", "above": 0.5, "min_events": 10}})
    alerts = feed(engine(ratio), [*burst(0, 6), *burst(1_000, 4, "INFO"), at(75_000, "INFO")])
    assert [(a.state, a.observed) for a in alerts] == [("fired", 0.6)]


def test_a_spike_over_the_services_own_baseline_fires() -> None:
    spike = rule({"baseline": {"level": "ERROR", "window": "1m", "factor": 4, "windows": 5, "min_count": 8}})
    usual = [event for minute in range(5) for event in burst(minute * 60_000, 2)]  # 2 errors a minute
    alerts = feed(engine(spike), [*usual, *burst(300_000, 9), at(375_000, "INFO")])
    assert states(alerts) == [("fired", 300, 9.0)]
    assert alerts[0].threshold == 8.0  # 4 x the mean of 2


def test_a_service_without_history_has_no_baseline_to_spike_over() -> None:
    spike = rule({"baseline": {"level": "ERROR", "window": "1m", "factor": 4, "windows": 5, "min_count": 8}})
    runner = engine(spike)
    assert feed(runner, [*burst(0, 30), *burst(60_000, 2), at(130_000, "INFO")]) == []  # new: no baseline
    quiet = [event for minute in range(2, 6) for event in burst(minute * 60_000, 2)]
    assert states(feed(runner, [*quiet, *burst(360_000, 40), at(430_000, "INFO")])) == [("fired", 360, 40.0)]


def test_late_events_within_the_grace_still_count() -> None:
    runner = engine(COUNT)
    feed(runner, [*burst(0, 6), at(65_000, "INFO")])  # past the window's end, within its grace
    assert states(feed(runner, [*burst(30_000, 5), at(70_000, "INFO")])) == [("fired", 0, 11.0)]


# Must not fire


def test_a_count_at_the_threshold_does_not_fire() -> None:
    assert feed(engine(COUNT), [*burst(0, 10), at(200_000, "INFO")]) == []


def test_a_storm_spread_across_windows_does_not_fire() -> None:
    spread = [*burst(50_000, 8, spacing_ms=1_000), *burst(60_000, 8, spacing_ms=1_000)]  # 16 in 16 s, two windows
    assert feed(engine(COUNT), [*spread, at(200_000, "INFO")]) == []


def test_events_later_than_the_grace_change_nothing() -> None:
    runner = engine(COUNT)
    assert feed(runner, [*burst(0, 6), at(70_000, "INFO")]) == []  # decided: 6
    assert feed(runner, [*burst(30_000, 20), at(200_000, "INFO")]) == []  # too late for it
    assert runner.store.get_bucket(0, CHECKOUT, 30_000 + T0) is not None  # still counted, for baselines


def test_other_levels_and_services_outside_the_scope_do_not_fire() -> None:
    scoped = rule({"count": {"level": "ERROR", "window": "1m", "above": 10}}, scope={"service": "check*"})
    web = Group("shop", "web", "prod")
    events = [*burst(0, 20, "WARN"), *burst(0, 20, group=web), at(100_000, "INFO")]
    assert feed(engine(scoped), events) == []


# Episodes, cooldown


def test_a_sustained_storm_fires_once_and_resolves_once_after_it() -> None:
    runner = engine(COUNT)
    storm = [event for minute in range(5) for event in burst(minute * 60_000, 20, spacing_ms=2_000)]
    alerts = feed(runner, [*storm, *burst(300_000, 3), at(430_000, "INFO")])
    assert states(alerts) == [("fired", 0, 20.0), ("resolved", 0, 20.0)]
    assert alerts[1].resolved_at == T0 + 370_000  # the first quiet window, 5:00 to 6:00, closed at 6:10


def test_a_second_storm_within_the_cooldown_does_not_fire_again() -> None:
    cooling = rule({"count": {"level": "ERROR", "window": "1m", "grace": "10s", "above": 10}}, cooldown="10m")
    runner = engine(cooling)
    first = feed(runner, [*burst(0, 20), *burst(120_000, 20), at(200_000, "INFO")])
    assert states(first) == [("fired", 0, 20.0), ("resolved", 0, 20.0)]  # 0:00 fired; 1:00 quiet; 2:00 in cooldown
    assert feed(runner, [*burst(540_000, 20), at(620_000, "INFO")]) == []  # ends 10:00: 9 min after 1:00
    assert states(feed(runner, [*burst(600_000, 20), at(680_000, "INFO")])) == [("fired", 600, 20.0)]


# Time


def test_an_idle_partition_closes_its_windows_by_the_wall_clock() -> None:
    runner = engine(COUNT)
    for event in burst(0, 15):
        runner.count(0, event, now=event.timestamp_ms)
    alerts: list[Alert] = []
    for second in range(0, 200):  # no more events: only ticks
        now = T0 + 2_000 + second * 1000
        runner.tick(0, now)
        alerts += runner.advance(0, now)
    # max_delay 30 s: the window (end 1:00, grace 10 s) closes at 1:40 by the clock, the next (quiet) at 2:40.
    assert [(str(a.state), (a.updated_at - T0) // 1000) for a in alerts] == [("fired", 100), ("resolved", 160)]


def test_a_new_partition_does_not_decide_the_history_it_catches_up_on() -> None:
    runner = engine(COUNT)
    now = T0 + 3_600_000
    for event in [*burst(0, 30), at(200_000, "INFO")]:  # an hour old: a backlog, not news
        runner.count(0, event, now=now)
        assert runner.advance(0, now) == []
    assert runner.store.get_bucket(0, CHECKOUT, T0) is not None  # counted all the same, for baselines


def test_events_older_than_the_retention_are_dropped() -> None:
    runner = engine(COUNT)
    feed(runner, [at(8_000_000, "INFO")])
    assert runner.count(0, at(0)) is False and runner.late == 1


def test_buckets_and_quiet_services_are_forgotten_after_the_retention() -> None:
    store = MemoryStore()
    runner = engine(COUNT, store=store)
    feed(runner, [*burst(0, 3), at(7_300_000, "INFO", Group("shop", "other", "prod"))])
    assert not any(group == CHECKOUT for (_, group, _) in store.buckets)
    assert store.get_group(0, CHECKOUT) is None
    assert store.get_group(0, Group("shop", "other", "prod")) is not None


# The store is the state


def test_a_new_engine_on_the_same_store_continues_where_the_last_stopped() -> None:
    store = MemoryStore()
    feed(engine(COUNT, store=store), burst(0, 6))  # the worker dies mid-window
    assert states(feed(engine(COUNT, store=store), [*burst(20_000, 6), at(70_000, "INFO")])) == [("fired", 0, 12.0)]


def test_a_removed_rule_resolves_its_open_episode() -> None:
    rules = [COUNT]
    runner = Engine(MemoryStore(), lambda: rules, CONFIG)
    assert states(feed(runner, [*burst(0, 20), at(70_000, "INFO")])) == [("fired", 0, 20.0)]
    rules.clear()
    resolved = feed(runner, [at(70_000 + STEP, "INFO")])
    assert [str(a.state) for a in resolved] == ["resolved"] and "the rule was removed" in resolved[0].summary
    entry = runner.store.get_group(0, CHECKOUT)
    assert entry is not None and entry.rules == {}
