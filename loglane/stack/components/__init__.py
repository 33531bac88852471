"""The local stack's components, in the order `stack status` lists them."""

from __future__ import annotations

from loglane.stack.components.connect import Connect
from loglane.stack.components.kafka import KafkaNode
from loglane.stack.components.opensearch import OpenSearch
from loglane.stack.components.postgres import Postgres
from loglane.stack.components.registry import Registry
from loglane.stack.components.s3 import S3
from loglane.stack.components.worker import StreamWorker
from loglane.stack.service import Service, StackLayout


def build_services(layout: StackLayout) -> list[Service]:
    kafka: list[Service] = [KafkaNode(layout, n) for n in range(1, layout.brokers + 1)]
    return [*kafka, Registry(layout), Connect(layout), OpenSearch(layout), Postgres(layout), S3(layout), StreamWorker(layout)]
