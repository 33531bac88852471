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

    It reads the topic of role `raw` (LogEvents in Confluent Avro wire format), decodes, validates,
    normalizes and masks each record, and writes it to role `processed` (keyed by service), or,
    when a stage refuses it, to role `deadletter` with the stage, error kind and reason. Topic names
    come from topics.yaml; topics and schemas must exist first (`loglane apply`): the worker checks
    and exits 1 naming what is missing. Its consumer group is LOGLANE_STREAM_APP_ID
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
    faust.Worker(app, loglevel=loglevel).execute_from_commandline()
