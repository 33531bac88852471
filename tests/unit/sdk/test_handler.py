"""The handler with no broker to talk to (a closed local port): emit stays fast and never raises,
and every event is either kept in the spool, in order, or counted as dropped."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loglane.sdk import LogEvent, LoglaneHandler, SdkConfigError
from loglane.sdk.spool import KIND_AVRO, Spool
from loglane.settings import Settings


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fake_serializer(event: LogEvent) -> bytes:
    """Wire-format-like bytes without a registry: magic byte, id 1, then JSON."""
    return b"\x00\x00\x00\x00\x01" + json.dumps(event).encode()


@pytest.fixture
def offline(tmp_path: Path) -> Settings:
    """Kafka at a closed port: connections are refused at once (librdkafka reports all brokers down)."""
    return Settings(home=tmp_path, kafka_bootstrap=f"127.0.0.1:{closed_port()}", registry_url="http://127.0.0.1:1/none")


@pytest.fixture
def silent(tmp_path: Path) -> Iterator[Settings]:
    """Kafka at a port that accepts connections and never answers: events stay in flight, nothing fails."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield Settings(home=tmp_path, kafka_bootstrap=f"127.0.0.1:{listener.getsockname()[1]}", registry_url="http://127.0.0.1:1/none")


def make_handler(settings: Settings, spool: Path, **options: object) -> LoglaneHandler:
    return LoglaneHandler(
        service="checkout", environment="test", topic="t", settings=settings, spool_dir=spool,
        serializer=fake_serializer, **options,  # type: ignore[arg-type]
    )


def logger_for(handler: LoglaneHandler, name: str) -> logging.Logger:
    logger = logging.getLogger(f"unit.sdk.{name}")
    logger.propagate = False
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    return logger


def spooled_ns(slot: Path) -> list[int]:
    """The `n` attribute of every event in a spool directory, in replay order."""
    spool = Spool(slot)
    spool.open()
    ns = []
    while items := spool.read(1000):
        for item in items:
            assert item.frame is not None
            value = item.frame.value[5:] if item.frame.kind == KIND_AVRO else item.frame.value
            ns.append(int(json.loads(value)["attributes"]["n"]))
    spool.close()
    return ns


@pytest.fixture
def handlers() -> Iterator[list[LoglaneHandler]]:
    made: list[LoglaneHandler] = []
    yield made
    for handler in made:
        handler.close(1)


@pytest.mark.parametrize("broker", ["offline", "silent"])
def test_without_kafka_emit_is_fast_and_close_keeps_every_event_in_order(
    broker: str, request: pytest.FixtureRequest, tmp_path: Path, handlers: list[LoglaneHandler]
) -> None:
    offline: Settings = request.getfixturevalue(broker)
    handler = make_handler(offline, tmp_path / "spool", buffer_size=100)
    handlers.append(handler)
    logger = logger_for(handler, "offline")
    durations = []
    for n in range(3000):
        began = time.perf_counter()
        logger.info("event %d", n, extra={"n": n})
        durations.append(time.perf_counter() - began)
        if n == 1000:
            time.sleep(0.5)  # let librdkafka find out the broker is not there
    assert sorted(durations)[len(durations) // 2] < 0.001
    assert handler.flush(0.2) is False
    stats = handler.stats()
    assert stats.spilling and stats.spooled > 0 and stats.delivered == 0
    slot = handler.spool_directory
    assert slot is not None
    handler.close(0.5)

    # Whatever was in memory or in librdkafka is written to the spool too, in its place.
    assert spooled_ns(slot) == list(range(3000))
    assert handler.stats().dropped == {}

    # A later handler on the same spool replays it first: still there, once, after it gives up.
    again = make_handler(offline, tmp_path / "spool", buffer_size=100)
    handlers.append(again)
    assert again.spool_directory == slot
    logger_for(again, "offline").info("later", extra={"n": 3000})
    time.sleep(0.3)
    again.close(0.5)
    assert spooled_ns(slot) == list(range(3001))


def test_what_the_spool_cannot_take_is_counted_and_announced(
    offline: Settings, tmp_path: Path, handlers: list[LoglaneHandler], capsys: pytest.CaptureFixture[str]
) -> None:
    handler = make_handler(offline, tmp_path / "spool", buffer_size=10, spool_max_bytes=64 * 1024)
    handlers.append(handler)
    logger = logger_for(handler, "full")
    for n in range(3000):
        logger.info("event %d with some padding to fill the spool", n, extra={"n": n})
    handler.close(0.5)
    stats = handler.stats()
    kept = spooled_ns(handler.spool_directory)  # type: ignore[arg-type]
    assert stats.dropped.get("spool_full", 0) > 0
    assert stats.emitted == 3000 == len(kept) + stats.dropped_total
    assert kept == sorted(kept)
    err = capsys.readouterr().err
    assert "dropped" in err and "spool_full" in err
    assert err.count("spool_full") <= 2  # rate-limited: one line per incident, not per event


def test_emit_never_raises(offline: Settings, tmp_path: Path, handlers: list[LoglaneHandler], monkeypatch: pytest.MonkeyPatch) -> None:
    handler = make_handler(offline, tmp_path / "spool")
    handlers.append(handler)
    logger = logger_for(handler, "raising")
    logger.info("%d of %d", 1)  # noqa: PLE1206 - wrong args on purpose: kept with the raw message

    def broken(*_: object) -> LogEvent:
        raise RuntimeError("bug")

    monkeypatch.setattr("loglane.sdk.handler.event_from_record", broken)
    logger.info("lost to a bug, but counted")
    monkeypatch.undo()
    handler.close(0.2)
    logger.info("after close")
    stats = handler.stats()
    assert stats.dropped == {"internal": 1, "closed": 1}
    assert stats.emitted == 3  # every record handed over counts, kept or not


def test_the_registry_being_down_keeps_events_for_later(offline: Settings, tmp_path: Path, handlers: list[LoglaneHandler]) -> None:
    calls = []

    def unreachable(event: LogEvent) -> bytes:
        calls.append(event)
        raise ConnectionError("registry unreachable")

    handler = LoglaneHandler(
        service="checkout", topic="t", settings=offline, spool_dir=tmp_path / "spool", serializer=unreachable
    )
    handlers.append(handler)
    logger = logger_for(handler, "registry")
    for n in range(50):
        logger.info("event", extra={"n": n})
    time.sleep(0.3)
    handler.close(0.2)
    assert calls, "the shipper tried the registry"
    assert spooled_ns(handler.spool_directory) == list(range(50))  # type: ignore[arg-type]
    assert handler.stats().dropped == {}


def test_a_service_name_is_required(offline: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGLANE_SERVICE", raising=False)
    with pytest.raises(SdkConfigError, match="LOGLANE_SERVICE"):
        LoglaneHandler(settings=offline, topic="t", serializer=fake_serializer)
    monkeypatch.setenv("LOGLANE_SERVICE", "from-env")
    monkeypatch.setenv("LOGLANE_ENVIRONMENT", "staging")
    handler = LoglaneHandler(settings=offline, topic="t", serializer=fake_serializer, spool_dir=offline.home / "s")
    try:
        assert (handler.origin.service, handler.origin.environment) == ("from-env", "staging")
    finally:
        handler.close(0.1)


EXIT_SCRIPT = """
import json, logging, sys
from loglane.sdk import LoglaneHandler
from loglane.settings import Settings

settings = Settings(home=sys.argv[1], kafka_bootstrap=sys.argv[2], registry_url="http://127.0.0.1:1/none")
handler = LoglaneHandler(
    service="exiting", topic="t", settings=settings, spool_dir=sys.argv[1] + "/spool",
    serializer=lambda e: b"\\0\\0\\0\\0\\1" + json.dumps(e).encode(), close_timeout=1.0,
)
logger = logging.getLogger("exiting")
logger.addHandler(handler)
for n in range(500):
    logger.warning("event", extra={"n": n})
# no close(): the interpreter's exit must not lose anything
"""


def test_interpreter_exit_keeps_what_could_not_be_delivered(offline: Settings, tmp_path: Path) -> None:
    import subprocess
    import sys

    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", EXIT_SCRIPT, str(tmp_path), offline.kafka_bootstrap],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[3], check=False,
    )
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - began < 15, "exit waited on the broker for too long"
    assert "stay in the spool" in done.stderr
    assert spooled_ns(tmp_path / "spool" / "slot-0") == list(range(500))


def test_an_event_kafka_can_never_take_is_counted_as_rejected(
    offline: Settings, tmp_path: Path, handlers: list[LoglaneHandler]
) -> None:
    handler = make_handler(offline, tmp_path / "spool")
    handlers.append(handler)
    logger = logger_for(handler, "huge")
    logger.info("x" * 2_000_000, extra={"n": 0})  # past librdkafka's message.max.bytes (1 MB)
    logger.info("small", extra={"n": 1})
    deadline = time.monotonic() + 10
    while not handler.stats().dropped and time.monotonic() < deadline:
        time.sleep(0.05)
    handler.close(0.5)
    assert handler.stats().dropped == {"rejected": 1}
    assert spooled_ns(handler.spool_directory) == [1]  # type: ignore[arg-type]
