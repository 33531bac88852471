"""`loglane gateway` as a process on the real stack: auth, validation, rate limit, backpressure,
Fluent Bit's payloads, and a 1,000,000-line gzip upload that arrives whole in bounded memory."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from loglane import catalog
from loglane.settings import Settings
from loglane.stack.manager import Stack
from tests.support import create_topic, eventually

TOKENS = {"shop": "shop-secret-token", "other": "other-secret-token", "slow": "slow-secret-token"}
UPLOAD_LINES = 1_000_000
MEMORY_BOUND_MB = 200  # the gateway's peak RSS (VmHWM) during the upload; README, "HTTP gateway"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class GatewayProcess:
    proc: subprocess.Popen
    url: str
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def peak_rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kilobytes = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
        return kilobytes / 1024

    def healthz(self) -> requests.Response | None:
        try:
            return requests.get(f"{self.url}/healthz", timeout=5)
        except requests.ConnectionError:
            return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def start_gateway(tmp: Path, name: str, **env: str) -> GatewayProcess:
    port = free_port()
    log_path = tmp / f"{name}.log"
    environment = {k: v for k, v in os.environ.items() if k != "LOGLANE_CONFIG"}
    environment.update(env)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "loglane.cli", "gateway", "--port", str(port)],
            env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    return GatewayProcess(proc, f"http://127.0.0.1:{port}", log_path)


def auth(tenant: str = "shop") -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[tenant]}"}


def event(**changes: object) -> dict:
    base = {
        "service": "checkout",
        "environment": "prod",
        "timestamp": "2024-05-01T12:00:00.123Z",
        "level": "INFO",
        "message": "order created",
        "trace_id": uuid.uuid4().hex,
    }
    return {**base, **changes}


def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"it-gateway-offsets-{uuid.uuid4().hex}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    finally:
        consumer.close()


def read_since(bootstrap: str, topic: str, start: dict[int, int], count: int, timeout: float, keep: bool = True) -> tuple[int, list]:
    """Consume from `start` (partition -> offset) until `count` messages or `timeout`; return how
    many arrived and (when keep) the messages. Lingers briefly to catch any extra message."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"it-gateway-read-{uuid.uuid4().hex}",
        "enable.auto.commit": False,
        "fetch.max.bytes": 64 * 1024 * 1024,
    })
    consumer.assign([TopicPartition(topic, p, o) for p, o in start.items()])
    seen, kept = 0, []
    deadline = time.monotonic() + timeout
    try:
        while seen < count and time.monotonic() < deadline:
            for message in consumer.consume(10_000, 1.0):
                if message.error() is None:
                    seen += 1
                    if keep:
                        kept.append(message)
        seen += sum(1 for m in consumer.consume(1000, 2.0) if m.error() is None)
    finally:
        consumer.close()
    return seen, kept


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw_topic(stack: Stack, settings: Settings) -> Iterator[str]:
    """A topic of this module's own with log_event.avsc registered for it, as `loglane apply`
    would; deleted afterwards (the upload leaves a million records in it)."""
    topic = f"it-gateway-{uuid.uuid4().hex[:10]}"
    create_topic(settings.kafka_bootstrap, topic, partitions=3)
    subject = f"{settings.registry_url}/subjects/{topic}-value"
    response = requests.post(f"{subject}/versions", json={"schema": catalog.schema_text("log_event.avsc")}, timeout=30)
    assert response.ok, response.text
    yield topic
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})  # held: the future needs its client
    admin.delete_topics([topic])[topic].result(timeout=30)
    requests.delete(subject, timeout=30)


@pytest.fixture(scope="module")
def tokens_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    def sha(token: str) -> str:
        return "sha256:" + hashlib.sha256(token.encode()).hexdigest()

    path = tmp_path_factory.mktemp("gateway") / "tokens.yaml"
    path.write_text(
        f"shop:\n  - {sha(TOKENS['shop'])}\n"
        f"other:\n  - {sha(TOKENS['other'])}\n"
        f"slow:\n  tokens: [{sha(TOKENS['slow'])}]\n  rate_limit: 5\n  burst: 10\n"
    )
    return path


@pytest.fixture(scope="module")
def gateway(raw_topic: str, tokens_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    running = start_gateway(
        tmp_path_factory.mktemp("gateway-main"), "gateway",
        LOGLANE_GATEWAY_TOKENS_FILE=str(tokens_file),
        LOGLANE_GATEWAY_TOPIC=raw_topic,
        LOGLANE_GATEWAY_RATE_LIMIT="1000000",
    )
    try:
        eventually(
            lambda: running.proc.poll() is None and (r := running.healthz()) is not None and r.status_code == 200,
            60, what=f"gateway ready; its log:\n{running.log_tail()}",
        )
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def deserialize(settings: Settings, raw_topic: str):
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": settings.registry_url}))
    context = SerializationContext(raw_topic, MessageField.VALUE)
    return lambda message: deserializer(message.value(), context)


# --- auth --------------------------------------------------------------------------------------


def test_should_answer_401_without_a_known_bearer_token(gateway: GatewayProcess) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": f"Basic {TOKENS['shop']}"}):
        response = requests.post(f"{gateway.url}/v1/logs", json=event(), headers=headers, timeout=10)
        assert response.status_code == 401, response.text
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert TOKENS["shop"] not in gateway.log_path.read_text()


def test_should_answer_403_when_writing_as_another_tenant(gateway: GatewayProcess, settings: Settings, raw_topic: str) -> None:
    # Arrange
    start = end_offsets(settings.kafka_bootstrap, raw_topic)

    # Produce: a tenant header, a single event and a batch naming the other tenant.
    as_header = requests.post(
        f"{gateway.url}/v1/logs", json=event(), headers={**auth(), "X-Loglane-Tenant": "other"}, timeout=10
    )
    single = requests.post(f"{gateway.url}/v1/logs", json=event(tenant="other"), headers=auth(), timeout=10)
    batch = requests.post(
        f"{gateway.url}/v1/logs/batch", json=[event(), event(tenant="other"), event()], headers=auth(), timeout=10
    )

    # Verify: all 403, the batch names the offending record, nothing was written.
    assert [r.status_code for r in (as_header, single, batch)] == [403, 403, 403]
    assert batch.json()["rejections"] == [
        {"index": 1, "kind": "tenant", "reason": "tenant: 'other' is not this token's tenant 'shop'"}
    ]
    assert end_offsets(settings.kafka_bootstrap, raw_topic) == start


# --- validation --------------------------------------------------------------------------------


def test_should_answer_400_with_a_reason_per_invalid_record(gateway: GatewayProcess) -> None:
    single = requests.post(f"{gateway.url}/v1/logs", json={"message": "hi"}, headers=auth(), timeout=10)
    assert single.status_code == 400
    assert single.json()["rejections"] == [
        {"index": 0, "kind": "missing", "reason": "missing service, environment, level, timestamp, trace_id"}
    ]

    ndjson = b'{"message": "hi"}\nnot json\n' + json.dumps(event(timestamp="yesterday")).encode()
    batch = requests.post(f"{gateway.url}/v1/logs/batch", data=ndjson, headers=auth(), timeout=10)
    assert batch.status_code == 400
    body = batch.json()
    assert (body["accepted"], body["rejected"]) == (0, 3)
    assert [(r["index"], r["kind"]) for r in body["rejections"]] == [(0, "missing"), (1, "json"), (2, "invalid")]
    assert "timestamp: 'yesterday' is neither ISO-8601" in body["rejections"][2]["reason"]

    malformed = requests.post(f"{gateway.url}/v1/logs/batch", data=b'[{"a": 1},', headers=auth(), timeout=10)
    assert malformed.status_code == 400
    assert "not a JSON array" in malformed.json()["error"]

    not_gzip = requests.post(
        f"{gateway.url}/v1/logs/batch", data=b"plain", headers={**auth(), "Content-Encoding": "gzip"}, timeout=10
    )
    assert not_gzip.status_code == 400
    assert "cannot be read" in not_gzip.json()["error"]


# --- accepted events ---------------------------------------------------------------------------


def test_should_accept_single_batch_and_ndjson_events_and_write_them_to_kafka(
    gateway: GatewayProcess, settings: Settings, raw_topic: str, deserialize
) -> None:
    # Arrange
    start = end_offsets(settings.kafka_bootstrap, raw_topic)
    given_id = str(uuid.uuid4())

    # Produce
    single = requests.post(f"{gateway.url}/v1/logs", json=event(event_id=given_id, device="d-7"), headers=auth(), timeout=30)
    array = requests.post(
        f"{gateway.url}/v1/logs/batch",
        json=[event(service="payments"), event(level=None), event(level="WARN", attributes={"order": "o-1"})],
        headers=auth(),
        timeout=30,
    )
    ndjson = requests.post(
        f"{gateway.url}/v1/logs/batch",
        data="\n".join(json.dumps(event(message=f"line {n}")) for n in range(2)) + "\n",
        headers={**auth(), "Content-Type": "application/x-ndjson"},
        timeout=30,
    )

    # Verify: 202 with ids and counts; exactly those events are in the topic, as LogEvents.
    assert single.status_code == 202, single.text
    assert single.json() == {"accepted": 1, "rejected": 0, "event_ids": [given_id], "rejections": []}
    assert array.status_code == 202, array.text
    body = array.json()
    assert (body["accepted"], body["rejected"], len(body["event_ids"])) == (2, 1, 2)
    assert body["rejections"] == [{"index": 1, "kind": "missing", "reason": "missing level"}]
    assert ndjson.status_code == 202 and ndjson.json()["accepted"] == 2

    ids = [given_id, *body["event_ids"], *ndjson.json()["event_ids"]]
    count, messages = read_since(settings.kafka_bootstrap, raw_topic, start, len(ids), timeout=30)
    assert count == len(ids)
    events = {str(e["event_id"]): e for e in map(deserialize, messages)}  # the uuid logical type reads as UUID
    assert sorted(events) == sorted(ids)
    first = events[given_id]
    assert first["tenant"] == "shop"
    assert first["attributes"] == {"device": "d-7"}
    assert {m.key() for m in messages} == {b"checkout", b"payments"}


def test_should_accept_fluent_bit_http_output_as_is(gateway: GatewayProcess, settings: Settings, raw_topic: str, deserialize) -> None:
    # Arrange: what Fluent Bit's `http` output sends with `format json` and `compress gzip`.
    start = end_offsets(settings.kafka_bootstrap, raw_topic)
    records = [
        {"date": 1700000000.123, "log": "10.0.0.1 - - \"GET / HTTP/1.1\" 200 612", "stream": "stdout"},
        {"date": 1700000001.5, "log": "upstream timed out", "stream": "stderr", "level": "error"},
    ]
    body = gzip.compress(json.dumps(records).encode())

    # Produce
    response = requests.post(
        f"{gateway.url}/v1/logs/batch?service=nginx&environment=prod&level=INFO&missing_trace_id=generate",
        data=body,
        headers={**auth(), "Content-Type": "application/json", "Content-Encoding": "gzip", "User-Agent": "Fluent-Bit"},
        timeout=30,
    )

    # Verify
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 2
    count, messages = read_since(settings.kafka_bootstrap, raw_topic, start, 2, timeout=30)
    assert count == 2
    written = sorted(map(deserialize, messages), key=lambda e: e["timestamp"])
    assert [e["message"] for e in written] == [r["log"] for r in records]
    assert [e["level"] for e in written] == ["INFO", "error"]
    assert written[0]["service"] == "nginx" and written[0]["environment"] == "prod"
    assert written[0]["timestamp"].timestamp() == pytest.approx(1700000000.123)
    assert written[0]["attributes"] == {"stream": "stdout", "loglane.trace_id": "generated"}
    assert written[0]["trace_id"] != written[1]["trace_id"]


# --- rate limit --------------------------------------------------------------------------------


def test_should_answer_429_with_retry_after_over_the_rate_limit(gateway: GatewayProcess) -> None:
    # The tokens file gives tenant "slow" 5 events/s with a burst of 10.
    first = requests.post(f"{gateway.url}/v1/logs/batch", json=[event()] * 10, headers=auth("slow"), timeout=30)
    second = requests.post(f"{gateway.url}/v1/logs/batch", json=[event()] * 5, headers=auth("slow"), timeout=30)
    other_token = requests.post(f"{gateway.url}/v1/logs", json=event(), headers=auth("shop"), timeout=30)

    assert first.status_code == 202, first.text
    assert second.status_code == 429, second.text
    assert int(second.headers["Retry-After"]) >= 1
    assert "rate limit of 5 events/s" in second.json()["error"]
    assert other_token.status_code == 202  # limits are per token

    time.sleep(int(second.headers["Retry-After"]))
    assert requests.post(f"{gateway.url}/v1/logs/batch", json=[event()] * 5, headers=auth("slow"), timeout=30).status_code == 202
    assert "loglane_gateway_throttled_total{tenant=\"slow\"} 1.0" in requests.get(f"{gateway.url}/metrics", timeout=10).text


# --- backpressure ------------------------------------------------------------------------------


def test_should_answer_503_with_retry_after_when_the_producer_buffer_is_full(
    raw_topic: str, tokens_file: Path, tmp_path: Path
) -> None:
    # Arrange: a gateway whose Kafka never answers (a closed port) and whose budget is 5 events.
    stalled = start_gateway(
        tmp_path, "stalled",
        LOGLANE_GATEWAY_TOKENS_FILE=str(tokens_file),
        LOGLANE_GATEWAY_TOPIC=raw_topic,
        LOGLANE_KAFKA_BOOTSTRAP=f"127.0.0.1:{free_port()}",
        LOGLANE_GATEWAY_MAX_INFLIGHT_EVENTS="5",
        LOGLANE_GATEWAY_DELIVERY_TIMEOUT="5",
    )
    try:
        health = eventually(  # a Response of status 503 is falsy: wrap it
            lambda: (r := stalled.healthz()) is not None and r.json()["registry"].startswith("ok")
            and r.json()["kafka"] != "kafka: not checked yet" and [r],
            60, what="the stalled gateway has its schema id and has tried Kafka",
        )[0]
        assert health.status_code == 503  # not ready: Kafka does not answer
        assert health.json()["kafka"].startswith("kafka: no broker answered")

        # Produce: the first batch fills the budget and waits for Kafka; the second finds it full.
        first: dict[str, requests.Response] = {}
        waiting = threading.Thread(
            target=lambda: first.update(
                r=requests.post(f"{stalled.url}/v1/logs/batch", json=[event()] * 5, headers=auth(), timeout=60)
            )
        )
        waiting.start()
        eventually(
            lambda: "loglane_gateway_inflight_events 5.0" in requests.get(f"{stalled.url}/metrics", timeout=10).text,
            10, 0.1, "the first batch holds the budget",
        )
        started = time.monotonic()
        refused = requests.post(f"{stalled.url}/v1/logs", json=event(), headers=auth(), timeout=10)
        refused_after = time.monotonic() - started
        waiting.join(60)

        # Verify: an immediate 503 with Retry-After; the waiting batch gets 503 once Kafka's time is up.
        assert refused.status_code == 503, refused.text
        assert int(refused.headers["Retry-After"]) >= 1
        assert "producer buffer is full" in refused.json()["error"]
        assert refused_after < 2
        assert first["r"].status_code == 503, first["r"].text
        assert "Kafka did not acknowledge 5 of 5 events" in first["r"].json()["error"]
        assert "Retry-After" in first["r"].headers
        metrics = requests.get(f"{stalled.url}/metrics", timeout=10).text
        assert 'loglane_gateway_backpressure_total{endpoint="/v1/logs"} 1.0' in metrics
        assert "loglane_gateway_inflight_events 0.0" in metrics  # the failed events released their room
    finally:
        stalled.stop()


# --- upload ------------------------------------------------------------------------------------


def write_upload(path: Path, lines: int) -> None:
    """A gzip file of `lines` JSON lines of about 300 bytes, as an offline device would keep."""
    template = (
        '{"service":"sensor-%d","environment":"field","timestamp":%d,"level":"INFO",'
        '"message":"reading %d within limits; battery nominal, signal strong, firmware 4.2.1, '
        'nothing to report from this device since the previous reading","trace_id":"%032x",'
        '"device":"dev-%05d","seq":%d}\n'
    )
    base = 1_700_000_000_000
    with gzip.open(path, "wb", compresslevel=1) as out:
        for start in range(0, lines, 20_000):
            out.write("".join(template % (n % 7, base + n, n, n, n % 50_000, n) for n in range(start, min(lines, start + 20_000))).encode())


@pytest.mark.slow
def test_a_million_line_gzip_upload_arrives_whole_in_bounded_memory(
    gateway: GatewayProcess, settings: Settings, raw_topic: str, tmp_path: Path, deserialize
) -> None:
    # Arrange
    upload = tmp_path / "device.jsonl.gz"
    began = time.monotonic()
    write_upload(upload, UPLOAD_LINES)
    generated = time.monotonic()
    start = end_offsets(settings.kafka_bootstrap, raw_topic)
    before_mb = gateway.peak_rss_mb()

    # Produce: the file streamed from disk, never read whole by the client either.
    with upload.open("rb") as body:
        response = requests.post(
            f"{gateway.url}/v1/logs/upload", data=body, headers={**auth(), "Content-Type": "application/gzip"}, timeout=600
        )
    uploaded = time.monotonic()

    # Verify: every line acknowledged, every line in the topic once, the gateway's peak RSS bounded.
    assert response.status_code == 202, response.text
    assert response.json() == {
        "accepted": UPLOAD_LINES, "rejected": 0, "failed": 0, "lines": UPLOAD_LINES,
        "rejections": [], "rejections_truncated": False,
    }
    peak_mb = gateway.peak_rss_mb()
    written = sum(end_offsets(settings.kafka_bootstrap, raw_topic).values()) - sum(start.values())
    count, sample = read_since(settings.kafka_bootstrap, raw_topic, start, UPLOAD_LINES, timeout=180, keep=False)
    assert written == UPLOAD_LINES
    assert count == UPLOAD_LINES
    assert peak_mb < MEMORY_BOUND_MB, f"gateway peak RSS {peak_mb:.0f} MB (before the upload: {before_mb:.0f} MB)"
    print(
        f"\nupload: {UPLOAD_LINES} lines, {upload.stat().st_size / 1e6:.0f} MB gzip; generated in {generated - began:.1f}s, "
        f"uploaded in {uploaded - generated:.1f}s ({UPLOAD_LINES / (uploaded - generated):.0f} lines/s), "
        f"counted in {time.monotonic() - uploaded:.1f}s; gateway peak RSS {before_mb:.0f} MB before, {peak_mb:.0f} MB after"
    )


def test_an_upload_reports_rejected_lines_by_line_number(gateway: GatewayProcess) -> None:
    lines = [json.dumps(event()), "", "not json", json.dumps(event(tenant="other")), json.dumps(event())]
    response = requests.post(
        f"{gateway.url}/v1/logs/upload", data="\n".join(lines).encode(), headers=auth(), timeout=30
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["accepted"], body["rejected"], body["lines"]) == (2, 2, 5)
    assert [(r["line"], r["kind"]) for r in body["rejections"]] == [(3, "json"), (4, "tenant")]


def test_healthz_and_metrics(gateway: GatewayProcess) -> None:
    health = requests.get(f"{gateway.url}/healthz", timeout=10)
    assert health.status_code == 200
    assert health.json()["status"] == "ready"
    metrics = requests.get(f"{gateway.url}/metrics", timeout=10)
    assert metrics.headers["Content-Type"].startswith("text/plain")
    for name in (
        'loglane_gateway_events_accepted_total{tenant="shop"}',
        'loglane_gateway_events_rejected_total{reason="missing"}',
        'loglane_gateway_request_seconds_bucket{endpoint="/v1/logs/batch",le="0.1"}',
        'loglane_gateway_requests_total{endpoint="/v1/logs",status="401"}',
        "loglane_gateway_ready 1.0",
    ):
        assert name in metrics.text
