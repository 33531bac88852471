"""The alert windows and evaluation alone (loglane.alerts.windows over a dict store): events per
second through count + advance, as the worker's alert agent calls them, with the project's rules.

    python bench/alert_windows.py [--events 200000] [--services 50]

Prints one line; the Faust tables (RocksDB, changelog) cost more in the worker."""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter

from loglane.alerts.rules import Group, Limits, load_valid_rules
from loglane.alerts.windows import Engine, MemoryStore, Sighting, WindowConfig
from loglane.settings import get_settings

LEVELS = ["INFO"] * 7 + ["WARN", "ERROR", "DEBUG"]
T0 = 1_772_366_400_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--services", type=int, default=50)
    args = parser.parse_args()
    settings = get_settings()
    rules = load_valid_rules(settings.project_dir, Limits.from_settings(settings))
    engine = Engine(MemoryStore(), lambda: rules, WindowConfig.from_settings(settings))
    groups = [Group("shop", f"service-{n}", "prod") for n in range(args.services)]
    rng = random.Random(7)
    events = [Sighting(T0 + n * 10, rng.choice(groups), rng.choice(LEVELS), str(n)) for n in range(args.events)]
    # Baseline, same events, same run: the least counting can be (one Counter increment per event).
    started = time.perf_counter()
    plain: Counter[tuple[Group, str, int]] = Counter()
    for event in events:
        plain[(event.group, event.level, event.timestamp_ms // 10_000)] += 1
    baseline = time.perf_counter() - started
    started = time.perf_counter()
    alerts = 0
    for event in events:
        engine.count(0, event)
        alerts += len(engine.advance(0))
    elapsed = time.perf_counter() - started
    span = args.events * 10 / 60_000
    print(f"{args.events / elapsed:,.0f} events/s ({elapsed / args.events * 1e6:.1f} µs each): {args.events} events, "
          f"{args.services} services, {len(rules)} rules, {span:.0f} min of event time, {alerts} alerts; "
          f"baseline (a Counter increment) {args.events / baseline:,.0f} events/s")


if __name__ == "__main__":
    main()
