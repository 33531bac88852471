"""The stream worker's counters: what it processed, dead-lettered, dropped (and why), routed,
masked and flagged, and the time spent per stage. Increments are plain dict arithmetic (cheap
per event); Prometheus reads them at scrape time through a collector on a registry of its own,
served by the worker on 127.0.0.1:LOGLANE_STREAM_METRICS_PORT when set, and a log line sums
them up every LOGLANE_STREAM_METRICS_LOG_INTERVAL seconds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

# name -> (help, label names); every one is a counter (Prometheus adds the _total suffix).
FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "loglane_stream_records": ("Raw records handled, by outcome: processed, deadletter, dropped.", ("outcome",)),
    "loglane_stream_dropped": (
        "Events dropped on purpose, by stage (sample, dedup) and reason (the sampling rule; event_id or content).",
        ("stage", "reason"),
    ),
    "loglane_stream_dead_letters": ("Records dead-lettered, by stage and error kind.", ("stage", "error_kind")),
    "loglane_stream_routed": ("Processed events also sent to a route's topic, by role.", ("role",)),
    "loglane_stream_pii_masked": ("Values the mask stage replaced, by kind.", ("kind",)),
    "loglane_stream_flagged": ("Events kept with a flag (loglane.flag), by flag.", ("flag",)),
    "loglane_stream_parsed": ("Events whose message a parse pattern read, by pattern.", ("pattern",)),
    "loglane_stream_stage_seconds": ("Time spent in each stage.", ("stage",)),
}


class StreamMetrics(Collector):
    def __init__(self) -> None:
        self.values: dict[str, defaultdict[tuple[str, ...], float]] = {name: defaultdict(float) for name in FAMILIES}

    def inc(self, name: str, *labels: str, amount: float = 1.0) -> None:
        self.values[name][labels] += amount

    def total(self, name: str, **labels: str) -> float:
        """The sum over the samples whose labels match, e.g. total("loglane_stream_dropped", stage="sample")."""
        names = FAMILIES[name][1]
        return sum(
            value for key, value in self.values[name].items()
            if all(key[names.index(label)] == wanted for label, wanted in labels.items())
        )

    def collect(self) -> Iterator[CounterMetricFamily]:
        for name, (documentation, labels) in FAMILIES.items():
            family = CounterMetricFamily(name, documentation, labels=list(labels))
            for key, value in sorted(self.values[name].items()):
                family.add_metric(list(key), value)
            yield family

    def registry(self) -> CollectorRegistry:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)
        return registry

    def serve(self, port: int) -> None:
        """Serve /metrics on 127.0.0.1:port (a daemon thread)."""
        start_http_server(port, addr="127.0.0.1", registry=self.registry())

    def summary(self) -> str:
        """One line for the worker's log."""
        def group(name: str) -> str:
            parts = [f"{'/'.join(key)} {value:g}" for key, value in sorted(self.values[name].items())]
            return ", ".join(parts) or "none"

        outcomes = self.values["loglane_stream_records"]
        return (
            f"records: processed {outcomes.get(('processed',), 0):g}, "
            f"dead-lettered {outcomes.get(('deadletter',), 0):g}, "
            f"dropped {outcomes.get(('dropped',), 0):g} ({group('loglane_stream_dropped')}); "
            f"routed: {group('loglane_stream_routed')}; masked: {group('loglane_stream_pii_masked')}; "
            f"flagged: {group('loglane_stream_flagged')}"
        )
