"""The stream's whole chain on one worker, beside a raw confluent-kafka passthrough, same machine,
same run, same records.

    python bench/pipeline.py [--events 20000] [--partitions 3] [--skip-worker]

On the running local stack (`loglane stack up`), with topics of its own (bench-<id>.*, deleted
at the end, with their registry subjects):

1. produce N sample events (loglane.samples: five services, e-mails to mask, some errors) to a raw
   topic, as Avro in Confluent wire format;
2. passthrough: a confluent-kafka consumer reads them and a producer writes each value unchanged to
   another topic; the baseline for what Kafka and the client cost on this machine;
3. chain, in process: the same consume/produce loop calling streams.pipeline.Pipeline (decode,
   validate, parse, normalize, enrich, sample, dedup, mask, build, route, Avro out): what the stages
   cost, timed per stage (the service catalog a dict from the project's services.yaml);
4. worker: `loglane worker` (Faust, aiokafka, the dedup table on RocksDB, the service catalog in its
   table, fed by a catalog topic holding the project's services.yaml) on the same records;
   its rate is measured from the Kafka timestamps of its first and last output, so start-up and
   table recovery are not counted; its per-stage times come from its /metrics.

Prints events/s for each, their ratios to the passthrough, and microseconds per event per stage."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import requests
import yaml
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from loglane import catalog
from loglane.avro import AvroWriter
from loglane.samples import sample_events
from loglane.services import CATALOG_ROLE, read_catalog
from loglane.settings import get_settings
from streams import rules as rule_files
from streams.pipeline import Pipeline, output_roles
from streams.registry import RegistrySchemas
from streams.stages.decode import parse as parse_schema
from streams.stages.dedup import Deduplicator, MemorySeen
from streams.stages.types import RawRecord

SCHEMAS = {
    "raw": "log_event.avsc",
    "processed": "processed_log_event.avsc",
    "alert-candidates": "processed_log_event.avsc",
    "deadletter": "dead_letter.avsc",
}
STAGES = ("decode", "validate", "parse", "normalize", "enrich", "sample", "dedup", "mask", "write")
CONSUMER = {"fetch.min.bytes": 1, "enable.auto.commit": False, "auto.offset.reset": "earliest"}
PRODUCER = {"linger.ms": 5, "acks": "all", "enable.idempotence": True, "compression.type": "lz4"}


def say(text: str) -> None:
    print(text, flush=True)


class Bench:
    def __init__(self, events: int, partitions: int) -> None:
        self.settings = get_settings()
        self.events = events
        self.partitions = partitions
        self.id = uuid.uuid4().hex[:8]
        self.topics = {role: f"bench-{self.id}.{role}" for role in SCHEMAS}
        self.topics["passthrough"] = f"bench-{self.id}.passthrough"
        self.topics[CATALOG_ROLE] = f"bench-{self.id}.services"
        self.services = read_catalog(self.settings.project_dir)
        self.app_id = f"bench-{self.id}"
        self.home = Path(tempfile.mkdtemp(prefix="loglane-bench-"))
        self.project = self.home / "project"
        self.admin = AdminClient({"bootstrap.servers": self.settings.kafka_bootstrap})
        self.registry = SchemaRegistryClient({"url": self.settings.registry_url})

    # --- arrange -----------------------------------------------------------------------------
    def arrange(self) -> None:
        source = self.settings.project_dir
        for item in ("schemas", "rules"):
            shutil.copytree(source / item, self.project / item)
        declared = [
            {"role": role, "name": self.topics[role], "value_schema": schema,
             "partitions": self.partitions if role == "raw" else 1}
            for role, schema in SCHEMAS.items()
        ] + [{"role": CATALOG_ROLE, "name": self.topics[CATALOG_ROLE]}]
        (self.project / "topics.yaml").write_text(
            yaml.safe_dump({"defaults": {"partitions": 1, "replication_factor": 1}, "topics": declared})
        )
        new = [NewTopic(name, self.partitions if role in ("raw", "passthrough") else 1, 1)
               for role, name in self.topics.items()]
        for future in self.admin.create_topics(new).values():
            future.result(timeout=30)
        for role, schema in SCHEMAS.items():
            self.registry.register_schema(
                f"{self.topics[role]}-value", Schema((self.project / "schemas" / schema).read_text(), "AVRO")
            )

    def produce(self) -> None:
        write = AvroWriter(self.registry, catalog.topic("raw", self.project), self.project)
        producer = Producer({"bootstrap.servers": self.settings.kafka_bootstrap, **PRODUCER})
        for service in self.services.values():  # as `loglane apply` writes them
            producer.produce(self.topics[CATALOG_ROLE], key=service.name, value=service.to_bytes())
        for event in sample_events(self.events, seed=17):
            producer.produce(self.topics["raw"], key=event["service"], value=write(event))
            producer.poll(0)
        assert producer.flush(60) == 0
        say(f"produced {self.events} sample events to {self.topics['raw']} ({self.partitions} partitions)")

    # --- runs ----------------------------------------------------------------------------------
    def _consumer(self, group: str) -> Consumer:
        consumer = Consumer({"bootstrap.servers": self.settings.kafka_bootstrap, "group.id": group, **CONSUMER})
        consumer.subscribe([self.topics["raw"]])
        return consumer

    def passthrough(self) -> float:
        consumer = self._consumer(f"{self.app_id}-passthrough")
        producer = Producer({"bootstrap.servers": self.settings.kafka_bootstrap, **PRODUCER})
        seen, started = 0, None
        while seen < self.events:
            for message in consumer.consume(500, 1.0):
                if message.error():
                    continue
                started = started or time.perf_counter()
                producer.produce(self.topics["passthrough"], key=message.key(), value=message.value())
                seen += 1
            producer.poll(0)
        producer.flush(60)
        elapsed = time.perf_counter() - (started or time.perf_counter())
        consumer.close()
        return self.events / elapsed

    def chain(self) -> tuple[float, dict[str, float]]:
        rules = rule_files.load(self.project, self.settings.pii_hmac_key)
        window = timedelta(seconds=self.settings.dedup_window)
        pipeline = Pipeline(
            RegistrySchemas(self.registry),
            parse_schema(catalog.schema_text(SCHEMAS["raw"], self.project)),
            {role: AvroWriter(self.registry, catalog.topic(role, self.project), self.project)
             for role in output_roles(rules)},
            rules,
            Deduplicator(MemorySeen(window), window),
            services=self.services,
        )
        consumer = self._consumer(f"{self.app_id}-chain")
        producer = Producer({"bootstrap.servers": self.settings.kafka_bootstrap, **PRODUCER})
        names = {role: self.topics[role] for role in output_roles(rules)}
        seen, started = 0, None
        while seen < self.events:
            for message in consumer.consume(500, 1.0):
                if message.error():
                    continue
                started = started or time.perf_counter()
                record = RawRecord(message.topic(), message.partition(), message.offset(), message.key(),
                                   message.value())
                for output in pipeline.handle(record):
                    producer.produce(names[output.role], key=output.key, value=output.value)
                seen += 1
            producer.poll(0)
        producer.flush(60)
        elapsed = time.perf_counter() - (started or time.perf_counter())
        consumer.close()
        per_stage = {
            stage: seconds / self.events * 1e6
            for (stage,), seconds in pipeline.metrics.values["loglane_stream_stage_seconds"].items()
        }
        return self.events / elapsed, per_stage

    def worker(self) -> tuple[float, dict[str, float]]:
        port = free_port()
        env = {
            **os.environ,
            "LOGLANE_PROJECT_DIR": str(self.project),
            "LOGLANE_STREAM_APP_ID": self.app_id,
            "LOGLANE_HOME": str(self.home / "home"),
            "LOGLANE_STREAM_METRICS_PORT": str(port),
        }
        log = (self.home / "worker.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "loglane.cli", "worker", "-l", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline and not self._caught_up(self.app_id):
                if proc.poll() is not None:
                    tail = (self.home / "worker.log").read_text().splitlines()[-15:]
                    raise RuntimeError(f"the worker exited {proc.returncode}:\n" + "\n".join(tail))
                time.sleep(1)
            metrics = scrape(port)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        first, last, count = self._output_span()
        records = metrics.get(("loglane_stream_records_total", ""), 0.0) or float(self.events)
        per_stage = {stage: metrics.get(("loglane_stream_stage_seconds_total", stage), 0.0) / records * 1e6
                     for stage in STAGES}
        return count / max(last - first, 1e-3), per_stage

    def _caught_up(self, group: str) -> bool:
        consumer = Consumer({"bootstrap.servers": self.settings.kafka_bootstrap, "group.id": group})
        try:
            parts = [TopicPartition(self.topics["raw"], p) for p in range(self.partitions)]
            committed = consumer.committed(parts, timeout=10)
            ends = [consumer.get_watermark_offsets(p, timeout=10)[1] for p in parts]
            return all(c.offset >= end for c, end in zip(committed, ends))
        finally:
            consumer.close()

    def _output_span(self) -> tuple[float, float, int]:
        """First and last Kafka timestamp (s) of the worker's processed records, and their count."""
        consumer = Consumer({"bootstrap.servers": self.settings.kafka_bootstrap, "group.id": f"{self.app_id}-read",
                             "auto.offset.reset": "earliest", "enable.auto.commit": False})
        consumer.assign([TopicPartition(self.topics["processed"], 0, 0)])
        end = consumer.get_watermark_offsets(TopicPartition(self.topics["processed"], 0), timeout=10)[1]
        stamps: list[float] = []
        while len(stamps) < end:
            for message in consumer.consume(1000, 2.0):
                if not message.error():
                    stamps.append(message.timestamp()[1] / 1000)
        consumer.close()
        return min(stamps), max(stamps), len(stamps)

    # --- clean up ------------------------------------------------------------------------------
    def clean_up(self) -> None:
        names = [n for n in self.admin.list_topics(timeout=10).topics if n.startswith(f"bench-{self.id}")]
        for future in self.admin.delete_topics(names).values() if names else ():
            try:
                future.result(timeout=30)
            except Exception:  # noqa: BLE001 - best effort
                pass
        for role in SCHEMAS:
            subject = f"{self.topics[role]}-value"
            try:
                self.registry.delete_subject(subject)
                self.registry.delete_subject(subject, permanent=True)
            except Exception:  # noqa: BLE001 - best effort
                pass
        shutil.rmtree(self.home, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(port: int) -> dict[tuple[str, str], float]:
    """(metric, stage label or "") -> value, summed over other labels, from the worker's /metrics."""
    found: dict[tuple[str, str], float] = {}
    for line in requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text.splitlines():
        if line.startswith("#") or " " not in line:
            continue
        name_labels, value = line.rsplit(" ", 1)
        name, _, labels = name_labels.partition("{")
        stage = labels.split('stage="', 1)[1].split('"', 1)[0] if 'stage="' in labels and "stage_seconds" in name else ""
        found[(name, stage)] = found.get((name, stage), 0.0) + float(value)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--skip-worker", action="store_true", help="Only the passthrough and the in-process chain.")
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    args = parser.parse_args()
    bench = Bench(args.events, args.partitions)
    say(f"machine: {os.cpu_count()} cores; stack at {bench.settings.kafka_bootstrap}")
    try:
        bench.arrange()
        bench.produce()
        passthrough = bench.passthrough()
        say(f"passthrough (confluent-kafka consume -> produce): {passthrough:,.0f} events/s")
        chain, chain_stages = bench.chain()
        say(f"chain in process (confluent-kafka + every stage): {chain:,.0f} events/s "
            f"= {chain / passthrough:.3f} x passthrough")
        figures = {"events": args.events, "passthrough": passthrough, "chain": chain, "chain_stages_us": chain_stages}
        if not args.skip_worker:
            worker, worker_stages = bench.worker()
            say(f"loglane worker (Faust, dedup table on RocksDB): {worker:,.0f} events/s "
                f"= {worker / passthrough:.3f} x passthrough = {worker / chain:.2f} x the chain in process")
            figures.update(worker=worker, worker_stages_us=worker_stages)
        say("µs per event by stage    in process   worker")
        for stage in STAGES:
            in_worker = figures.get("worker_stages_us", {}).get(stage)
            say(f"  {stage:<22}{chain_stages.get(stage, 0.0):>10.1f}" + (f"{in_worker:>9.1f}" if in_worker else ""))
        say(f"  {'total':<22}{sum(chain_stages.values()):>10.1f}"
            + (f"{sum(figures['worker_stages_us'].values()):>9.1f}" if "worker_stages_us" in figures else ""))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
    finally:
        bench.clean_up()
    return 0


if __name__ == "__main__":
    sys.exit(main())
