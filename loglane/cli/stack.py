"""`loglane stack`: the local Kafka-ecosystem stack as processes on loopback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from loglane.errors import ExitCode
from loglane.settings import get_settings
from loglane.stack.components.connect import install_plugins
from loglane.stack.manager import ComponentStatus, Stack
from loglane.stack.service import StackLayout, tail


def _print_status(rows: list[ComponentStatus]) -> None:
    width = max(len(r.name) for r in rows)
    for row in rows:
        click.echo(f"{row.name:<{width}}  {row.state:<9}  {row.address:<28}  {row.detail}")
        click.echo(f"{'':<{width}}  log: {row.log_path}")


@click.group()
def stack() -> None:
    """Start, stop and inspect the local stack (Kafka, registry, Connect, OpenSearch, PostgreSQL, S3)."""


@stack.command()
@click.option("--brokers", type=click.Choice(["1", "3"]), default="1", show_default=True,
              help="Kafka nodes: 1, or a 3-node KRaft quorum (RF 3, min.insync.replicas 2).")
@click.option("--only", multiple=True, metavar="COMPONENT",
              help="Start just this component and what it needs (repeatable), e.g. --only kafka.")
def up(brokers: str, only: tuple[str, ...]) -> None:
    """Download (once), configure and start every component; wait until each is healthy."""
    rows = Stack(get_settings(), int(brokers), only=only or None).up()
    _print_status(rows)


@stack.command()
@click.option("--only", multiple=True, metavar="COMPONENT", help="Stop just this component (repeatable).")
def down(only: tuple[str, ...]) -> None:
    """Stop the components this stack started (by their pid files), in reverse order."""
    stopped = Stack(get_settings()).down(only=only or None)
    click.echo(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@stack.command()
def status() -> None:
    """Each component, its address and health; exits 1 unless every one is running and healthy."""
    rows = Stack(get_settings()).status()
    _print_status(rows)
    if any(r.state != "running" for r in rows):
        sys.exit(ExitCode.FAILED)


@stack.command()
@click.argument("component")
@click.option("-n", "--lines", default=50, show_default=True, help="How many lines from the end.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing as the log grows.")
def logs(component: str, lines: int, follow: bool) -> None:
    """Print the end of COMPONENT's log (e.g. kafka, registry, connect, opensearch, postgres, s3)."""
    service = Stack(get_settings()).service(component)
    click.echo(f"# {service.log_path}", err=True)
    if follow:
        subprocess.run(["tail", "-n", str(lines), "-F", str(service.log_path)])
    else:
        click.echo(tail(service.log_path, lines), nl=False)


@stack.command("connect-plugins")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def connect_plugins(directory: Path) -> None:
    """Fill DIRECTORY with the Connect plugins the stack runs (used by compose/connect/Dockerfile)."""
    settings = get_settings()
    install_plugins(StackLayout(settings), directory)
    click.echo(f"plugins in {directory}: {', '.join(sorted(p.name for p in directory.iterdir()))}")
