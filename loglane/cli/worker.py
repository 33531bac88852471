"""`loglane worker`: the stream worker (the Faust app in streams/)."""

from __future__ import annotations

import logging

import click

from loglane.settings import get_settings


@click.command()
@click.option(
    "-l", "--loglevel", default="info", show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]), help="The worker's log level.",
)
def worker(loglevel: str) -> None:
    """Run the stream worker until SIGINT or SIGTERM.

    It reads the topic of role `raw` (LogEvents in Confluent Avro wire format); decodes, validates,
    parses, normalizes, samples, deduplicates and masks each record by the rules in rules/; and
    writes it to role `processed` (keyed by service; ERROR and FATAL also to `alert-candidates`),
    or, when a stage refuses it, to role `deadletter` with the stage, error kind and reason. Topic
    names come from topics.yaml; topics and schemas must exist first (`loglane apply`): the worker
    checks and exits 1 naming what is missing (78 for invalid rule files). Its consumer group is LOGLANE_STREAM_APP_ID
    (default loglane-stream); run more workers with the same id to share the partitions.
    """
    # Imported here: Faust is heavy, and only this verb needs it.
    import faust

    from streams import preflight
    from streams.app import app, replication_factor

    settings = get_settings()
    brokers = preflight.check(settings)
    (settings.home / "streams").mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    app.conf.topic_replication_factor = replication_factor(brokers)
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # a line per registry request drowns the rest
    runner = faust.Worker(app, loglevel=loglevel)
    # Faust's terminal spinner would set the root logger to DEBUG at -l warning/error, so every
    # library debug line (aiokafka logs each send) would build a log record: a third of the time.
    runner.spinner = None
    runner.execute_from_commandline()
