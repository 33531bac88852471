"""The HTTP ingestion gateway: an aiohttp app over the producer, the tokens and the event rules.

    POST /v1/logs          one JSON event
    POST /v1/logs/batch    a JSON array or NDJSON (Fluent Bit's HTTP output as is)
    POST /v1/logs/upload   a plain or gzip file of JSON lines, streamed
    GET  /healthz          200 once the producer and the registry client are connected, else 503
    GET  /metrics          Prometheus

A 202 means Kafka acknowledged (acks=all) every accepted event. Statuses and bodies: README,
"HTTP gateway".
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientError, web
from aiohttp.http_exceptions import HttpProcessingError
from confluent_kafka.schema_registry import SchemaRegistryClient

from loglane.gateway.auth import Credential
from loglane.gateway.avro import AvroValueWriter, RegistryUnavailable, lookup_schema_id
from loglane.gateway.config import GatewayConfig
from loglane.gateway.errors import (
    Backpressure,
    BadRequest,
    Forbidden,
    GatewayError,
    NotReady,
    PayloadTooLarge,
    Throttled,
    Unauthorized,
)
from loglane.gateway.events import (
    INVALID,
    TENANT,
    TOO_LARGE,
    Invalid,
    LogEventValue,
    RequestDefaults,
    iter_batch,
    parse_line,
    to_event,
)
from loglane.gateway.lines import CorruptBody, LineReader
from loglane.gateway.metrics import CONTENT_TYPE_LATEST, GatewayMetrics
from loglane.gateway.producer import Delivery, GatewayProducer, Message, producer_config
from loglane.gateway.ratelimit import RateLimiter, retry_after_header

__all__ = ["Gateway"]

log = logging.getLogger(__name__)

UPLOAD_CHUNK_EVENTS = 500  # an upload is produced, paced and budgeted in chunks of this many lines
UPLOAD_CHUNK_BYTES = 512 * 1024
UPLOAD_READ_BYTES = 64 * 1024
HEADER_PREFIX = "X-Loglane-"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _rejection(index: int, invalid: Invalid, key: str = "index") -> dict[str, Any]:
    return {key: index, "kind": invalid.kind, "reason": invalid.reason}


class Gateway:
    def __init__(self, config: GatewayConfig, registry: SchemaRegistryClient | None = None) -> None:
        self.config = config
        self.producer = GatewayProducer(
            producer_config(
                config.kafka_bootstrap,
                max_events=config.max_inflight_events,
                max_bytes=config.max_inflight_bytes,
                delivery_timeout=config.delivery_timeout,
                linger_ms=config.linger_ms,
                largest_events=max(config.max_batch_events, UPLOAD_CHUNK_EVENTS),
                largest_bytes=2 * config.max_body_bytes,  # Avro of a batch body; ids and tenant added
            ),
            config.topic,
            config.max_inflight_events,
            config.max_inflight_bytes,
            config.delivery_timeout,
        )
        self.limiter = RateLimiter(config.rate_limit, config.rate_burst)
        self.writer: AvroValueWriter | None = None
        self.kafka_problem: str | None = "kafka: not checked yet"
        self.registry_problem: str | None = "registry: not checked yet"
        self.metrics = GatewayMetrics(
            inflight_events=lambda: self.producer.budget.events,
            inflight_bytes=lambda: self.producer.budget.bytes,
            ready=lambda: float(self.ready),
        )
        self._registry = registry or SchemaRegistryClient({"url": config.registry_url})
        self._watcher: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        return self.writer is not None and self.kafka_problem is None

    # the app --------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body_bytes, middlewares=[self._middleware])
        app.router.add_post("/v1/logs", self.post_one)
        app.router.add_post("/v1/logs/batch", self.post_batch)
        app.router.add_post("/v1/logs/upload", self.post_upload)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.get_metrics)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, _: web.Application) -> None:
        self.producer.start()
        self._watcher = asyncio.create_task(self._watch(), name="gateway-readiness")

    async def _stop(self, _: web.Application) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        left = await self.producer.close(self.config.delivery_timeout)
        if left:
            log.error("gateway: %d events were still unacknowledged by Kafka at shutdown", left)

    async def _watch(self) -> None:
        """Readiness: the registry gave the schema id, and a broker knows the topic."""
        loop = asyncio.get_running_loop()
        was_ready, last_problem = False, None
        while True:
            if self.writer is None:
                try:
                    schema_id = await loop.run_in_executor(
                        None, lookup_schema_id, self._registry, self.config.subject, self.config.schema_text
                    )
                    self.writer = AvroValueWriter(self.config.schema_text, schema_id)
                    self.registry_problem = None
                except RegistryUnavailable as exc:
                    self.registry_problem = str(exc)
            self.kafka_problem = await loop.run_in_executor(None, self.producer.check, 5.0)
            problem = self.registry_problem or self.kafka_problem
            if self.ready and not was_ready:
                log.info("gateway: ready (topic %s, schema id %s)", self.config.topic, self.writer and self.writer.schema_id)
            elif problem and problem != last_problem:
                log.warning("gateway: not ready: %s", problem)
            was_ready, last_problem = self.ready, problem
            await asyncio.sleep(5.0 if was_ready else 1.0)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        route = request.match_info.route.resource
        endpoint = route.canonical if route is not None else "unmatched"
        try:
            response = await handler(request)
        except GatewayError as exc:
            response = web.json_response(exc.body(), status=exc.status)
            if exc.retry_after is not None:
                response.headers["Retry-After"] = retry_after_header(exc.retry_after)
            if isinstance(exc, Unauthorized):
                response.headers["WWW-Authenticate"] = 'Bearer realm="loglane"'
            if isinstance(exc, Backpressure) and not isinstance(exc, NotReady):
                self.metrics.backpressure.labels(endpoint).inc()
        except (web.RequestPayloadError, HttpProcessingError) as exc:  # e.g. Content-Encoding: gzip that is not
            response = web.json_response({"error": f"the request body cannot be read: {exc}"}, status=400)
        except web.HTTPException as exc:  # aiohttp's own: 404, 405, 413 (body over client_max_size)
            headers = {k: v for k, v in exc.headers.items() if k.lower() not in ("content-type", "content-length")}
            response = web.json_response({"error": exc.text or exc.reason}, status=exc.status, headers=headers)
        except Exception:  # noqa: BLE001 - a bug: log it whole, answer 500
            log.exception("gateway: %s %s failed", request.method, request.path)
            response = web.json_response({"error": "unexpected gateway error (a bug; its log says where)"}, status=500)
        self.metrics.requests.labels(endpoint, str(response.status)).inc()
        self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
        return response

    # shared steps ---------------------------------------------------------------------------

    def _caller(self, request: web.Request) -> Credential:
        credential = self.config.tokens.authenticate(request.headers.get("Authorization"))
        claimed = request.query.get("tenant") or request.headers.get(f"{HEADER_PREFIX}Tenant")
        if claimed and claimed != credential.tenant:
            raise Forbidden(f"this token writes as tenant {credential.tenant!r}, not {claimed!r}")
        return credential

    @staticmethod
    def _defaults(request: web.Request) -> RequestDefaults:
        def pick(name: str) -> str | None:
            return request.query.get(name) or request.headers.get(f"{HEADER_PREFIX}{name.title()}") or None

        missing = (
            request.query.get("missing_trace_id") or request.headers.get(f"{HEADER_PREFIX}Missing-Trace-Id") or "reject"
        ).lower()
        if missing not in ("reject", "generate"):
            raise BadRequest(f"missing_trace_id must be 'reject' (the default) or 'generate', not {missing!r}")
        return RequestDefaults(pick("service"), pick("environment"), pick("level"), missing == "generate")

    def _writer(self) -> AvroValueWriter:
        if self.writer is None:
            raise NotReady(f"not ready: {self.registry_problem}", retry_after=2)
        return self.writer

    def _limits(self, credential: Credential) -> tuple[float, int]:
        return credential.rate_limit or self.config.rate_limit, credential.burst or self.config.rate_burst

    def _throttle(self, credential: Credential, count: int) -> None:
        rate, burst = self._limits(credential)
        if count > burst:
            raise PayloadTooLarge(f"{count} events exceed this token's burst of {burst}; send at most {burst} per request")
        wait = self.limiter.take(credential.key, count, rate, burst)
        if wait > 0:
            self.metrics.throttled.labels(credential.tenant).inc()
            raise Throttled(
                f"rate limit of {rate:g} events/s for this token is spent; retry in {math.ceil(wait)}s", retry_after=wait
            )

    async def _pace(self, credential: Credential, count: int) -> None:
        """Uploads wait for the rate limit instead of being refused mid-stream."""
        rate, burst = self._limits(credential)
        while (wait := self.limiter.take(credential.key, count, rate, burst)) > 0:
            await asyncio.sleep(min(wait, 1.0))

    def _encode(self, writer: AvroValueWriter, event: LogEventValue) -> Message | Invalid:
        try:
            value = writer(event)
            key = event["service"].encode()
        except Exception as exc:  # noqa: BLE001 - e.g. a lone UTF-16 surrogate in a string
            return Invalid(INVALID, f"cannot be written as Avro: {exc}")
        if len(value) > self.config.max_record_bytes:
            return Invalid(TOO_LARGE, f"{len(value)} bytes as Avro; at most {self.config.max_record_bytes}")
        return key, value

    def _count_rejections(self, rejections: list[dict[str, Any]]) -> None:
        for rejection in rejections:
            self.metrics.rejected.labels(rejection["kind"]).inc()

    # single and batch -----------------------------------------------------------------------

    async def post_one(self, request: web.Request) -> web.Response:
        credential = self._caller(request)
        defaults = self._defaults(request)
        record = parse_line(await request.read())
        return await self._accept(credential, defaults, [record], single=True)

    async def post_batch(self, request: web.Request) -> web.Response:
        credential = self._caller(request)
        defaults = self._defaults(request)
        body = await request.read()
        try:
            records = list(iter_batch(body))
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        if not records:
            raise BadRequest("empty batch: send a JSON array or NDJSON lines of events")
        if len(records) > self.config.max_batch_events:
            raise PayloadTooLarge(
                f"{len(records)} events in one batch; at most {self.config.max_batch_events} (LOGLANE_GATEWAY_MAX_BATCH_EVENTS)"
            )
        return await self._accept(credential, defaults, records, single=False)

    async def _accept(
        self, credential: Credential, defaults: RequestDefaults, records: list[Any], single: bool
    ) -> web.Response:
        writer = self._writer()
        self._throttle(credential, len(records))
        messages: list[Message] = []
        event_ids: list[str] = []
        rejections: list[dict[str, Any]] = []
        foreign: list[dict[str, Any]] = []
        size = 0
        for index, record in enumerate(records):
            event = record if isinstance(record, Invalid) else to_event(record, credential.tenant, defaults)
            if not isinstance(event, Invalid):
                encoded = self._encode(writer, event)
                if not isinstance(encoded, Invalid):
                    messages.append(encoded)
                    event_ids.append(event["event_id"])
                    size += len(encoded[1])
                    continue
                event = encoded
            (foreign if event.kind == TENANT else rejections).append(_rejection(index, event))
        if foreign:
            self._count_rejections(foreign)
            raise Forbidden(
                f"{len(foreign)} event(s) name a tenant other than this token's {credential.tenant!r}; nothing was accepted",
                rejections=foreign,
            )
        self._count_rejections(rejections)
        if not messages:
            what = "the event is invalid" if single else "no event in the batch is valid"
            raise BadRequest(what, accepted=0, rejected=len(rejections), rejections=rejections)

        delivery = self.producer.send_nowait(messages, size)
        await self._settled(delivery, credential.tenant)
        return web.json_response(
            {"accepted": len(messages), "rejected": len(rejections), "event_ids": event_ids, "rejections": rejections},
            status=202,
        )

    async def _settled(self, delivery: Delivery, tenant: str) -> None:
        """Wait for Kafka's answer on every event; Backpressure (503) unless all were acknowledged."""
        settled = await delivery.wait(self.config.delivery_timeout + 10)
        self.metrics.accepted.labels(tenant).inc(delivery.delivered)
        unacknowledged = delivery.failed + delivery.pending
        if unacknowledged:
            self.metrics.failed.inc(unacknowledged)
            why = "; ".join(delivery.errors) or ("no answer" if not settled else "unknown")
            raise Backpressure(
                f"Kafka did not acknowledge {unacknowledged} of {delivery.delivered + unacknowledged} events ({why}); "
                "retry the request (events that carry an event_id are stored once however often they are sent)",
                retry_after=2,
                delivered=delivery.delivered,
                failed=unacknowledged,
            )

    # upload ---------------------------------------------------------------------------------

    async def post_upload(self, request: web.Request) -> web.Response:
        credential = self._caller(request)
        defaults = self._defaults(request)
        writer = self._writer()
        rate, burst = self._limits(credential)
        if self.limiter.available(credential.key, rate, burst) < 1:
            self._throttle(credential, 1)  # raises Throttled with the wait
        chunk_events = min(UPLOAD_CHUNK_EVENTS, burst)
        upload = _Upload(self.config.max_reported_rejections)
        delivery = self.producer.delivery()
        reader = LineReader(self.config.max_line_bytes)
        batch: list[Message] = []
        size = 0
        first_line = 0  # the line of batch[0]
        tenant = credential.tenant

        async def flush() -> None:
            nonlocal batch, size
            await self._pace(credential, len(batch))
            await self.producer.budget.reserve(len(batch), size, timeout=self.config.delivery_timeout)
            self.producer.produce(batch, delivery)
            batch, size = [], 0
            await asyncio.sleep(0)  # let other requests run between chunks

        def take(item: bytes | Invalid) -> None:
            nonlocal size, first_line
            upload.lines += 1
            if isinstance(item, bytes):
                if not item.strip():
                    return
                item = parse_line(item)
            event = item if isinstance(item, Invalid) else to_event(item, tenant, defaults)
            if not isinstance(event, Invalid):
                encoded = self._encode(writer, event)
                if not isinstance(encoded, Invalid):
                    if not batch:
                        first_line = upload.lines
                    batch.append(encoded)
                    size += len(encoded[1])
                    return
                event = encoded
            upload.reject(event)

        problem: GatewayError | None = None
        try:
            try:
                async for chunk in request.content.iter_chunked(UPLOAD_READ_BYTES):
                    for item in reader.feed(chunk):
                        take(item)
                        if len(batch) >= chunk_events or size >= UPLOAD_CHUNK_BYTES:
                            await flush()
                for item in reader.finish():
                    take(item)
            except CorruptBody as exc:
                problem = BadRequest(f"line {upload.lines + 1}: {exc}; the lines before it were processed")
            except (web.RequestPayloadError, HttpProcessingError, ClientError, ConnectionError) as exc:
                problem = BadRequest(f"the upload broke off after line {upload.lines}: {exc}")
            if batch:
                await flush()
        except Backpressure as exc:
            problem = Backpressure(
                f"{exc.message}; lines from {first_line} on were not sent (send them again), "
                "and `failed` counts earlier lines Kafka did not acknowledge",
                retry_after=exc.retry_after or 1,
            )

        settled = await delivery.wait(self.config.delivery_timeout + 10)
        unacknowledged = delivery.failed + delivery.pending
        for kind, count in upload.kinds.items():
            self.metrics.rejected.labels(kind).inc(count)
        self.metrics.accepted.labels(tenant).inc(delivery.delivered)
        if unacknowledged:
            self.metrics.failed.inc(unacknowledged)
        body = {
            "accepted": delivery.delivered,
            "rejected": upload.rejected,
            "failed": unacknowledged,
            "lines": upload.lines,
            "rejections": upload.rejections,
            "rejections_truncated": upload.rejected > len(upload.rejections),
        }
        if problem is not None:
            problem.extra.update(body)
            raise problem
        if unacknowledged:
            why = "; ".join(delivery.errors) or ("no answer" if not settled else "unknown")
            raise Backpressure(f"Kafka did not acknowledge {unacknowledged} events ({why}); upload the file again", **body)
        if delivery.delivered == 0:
            raise BadRequest("no line of the upload is a valid event" if upload.lines else "empty upload", **body)
        return web.json_response(body, status=202)

    # health and metrics ---------------------------------------------------------------------

    async def healthz(self, _: web.Request) -> web.Response:
        body = {
            "status": "ready" if self.ready else "not ready",
            "kafka": self.kafka_problem or "ok",
            "registry": self.registry_problem or f"ok (schema id {self.writer.schema_id if self.writer else '?'})",
            "topic": self.config.topic,
            "inflight_events": self.producer.budget.events,
        }
        return web.json_response(body, status=200 if self.ready else 503)

    async def get_metrics(self, _: web.Request) -> web.Response:
        response = web.Response(body=self.metrics.render())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response


class _Upload:
    """An upload's counts and its first few rejection reasons."""

    def __init__(self, keep: int) -> None:
        self.lines = 0
        self.rejected = 0
        self.keep = keep
        self.rejections: list[dict[str, Any]] = []
        self.kinds: dict[str, int] = {}

    def reject(self, invalid: Invalid) -> None:
        self.rejected += 1
        self.kinds[invalid.kind] = self.kinds.get(invalid.kind, 0) + 1
        if len(self.rejections) < self.keep:
            self.rejections.append(_rejection(self.lines, invalid, key="line"))
