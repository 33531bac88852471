"""The Faust app of the stream worker. Agents live in streams.agents, one module each, found by
autodiscovery; every topic carries raw bytes, since the stages do Avro themselves (with the
registry) rather than through Faust codecs. Run it with `loglane worker`."""

from __future__ import annotations

import faust

from loglane.settings import get_settings
from streams.offsets import OffsetGuard

settings = get_settings()

app = faust.App(
    settings.stream_app_id,
    broker=[f"kafka://{server.strip()}" for server in settings.kafka_bootstrap.split(",")],
    processing_guarantee="at_least_once",
    autodiscover=["streams.agents"],
    # Tables (alerting's windows) live in RocksDB under datadir and are rebuilt from their compacted
    # changelogs on another worker or a wiped disk.
    store="rocksdb://",
    key_serializer="raw",
    value_serializer="raw",
    web_enabled=False,  # nothing to serve yet; health and metrics are a later issue
    topic_disable_leader=True,  # no leader-only work: spares an internal topic
    datadir=settings.home / "streams" / settings.stream_app_id,
    # A worker killed without leaving the group holds its partitions this long (Faust's default: 60 s).
    broker_session_timeout=10.0,
    broker_heartbeat_interval=3.0,
)

# Every source topic is read through it, declared with acks=False (streams.offsets says why).
offsets = OffsetGuard(app, settings.kafka_bootstrap)


@app.timer(app.conf.broker_commit_interval)
async def commit_offsets() -> None:
    await offsets.reseek()
    await offsets.commit()


def replication_factor(brokers: int) -> int:
    """For the topics Faust creates (changelogs, repartitions): topics.yaml's rule, three copies
    capped at the cluster's broker count (one on the dev stack). Set by `loglane worker`, which
    asks the cluster, so importing this module needs no broker."""
    return min(3, brokers)
