"""`loglane demo`: stack up, apply, start the worker, produce sample traffic, show where to look."""

from __future__ import annotations

import click

from loglane.settings import get_settings


@click.command()
@click.option("--events", default=5000, show_default=True, help="How many valid sample events to produce.")
def demo(events: int) -> None:
    """Run the whole pipeline on this machine with realistic traffic from five services.

    Starts the local stack, applies topics, schemas, the index template and connectors, starts the
    stream worker, produces sample logs (traces spanning services, mixed levels, e-mails to mask,
    malformed records) and waits until they have landed, then prints queries for each sink.
    """
    from loglane.demo import run, where_to_look  # the pipeline's clients load only for this verb

    settings = get_settings()
    result = run(settings, events, click.echo)
    click.echo("")
    for line in where_to_look(settings, result):
        click.echo(line)
