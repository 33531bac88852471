"""The `loglane` command: one group, one function per verb, one exit-code scheme."""

from __future__ import annotations

import sys
import traceback

import click

from loglane import __version__
from loglane.cli.alerts import alerts_group
from loglane.cli.apply import COMMANDS as APPLY_COMMANDS
from loglane.cli.demo import demo
from loglane.cli.filters import mask_command, parse_command
from loglane.cli.gateway import gateway
from loglane.cli.stack import stack
from loglane.cli.worker import worker
from loglane.errors import ExitCode, LoglaneError


@click.group()
@click.version_option(__version__, prog_name="loglane")
def cli() -> None:
    """loglane: a Kafka-native log pipeline. Settings come from LOGLANE_* variables (see README)."""


cli.add_command(stack)
for command in APPLY_COMMANDS:
    cli.add_command(command)
cli.add_command(worker)
cli.add_command(demo)
cli.add_command(gateway)
cli.add_command(alerts_group)
cli.add_command(mask_command)
cli.add_command(parse_command)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except LoglaneError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(ExitCode.FAILED)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.INVALID_CONFIG if isinstance(exc, click.UsageError) else ExitCode.FAILED)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception:  # noqa: BLE001 - a bug: show it whole, exit with the "unexpected" code
        traceback.print_exc()
        click.echo("error: unexpected failure (a bug in loglane; the traceback above says where)", err=True)
        sys.exit(ExitCode.UNEXPECTED)
    sys.exit(ExitCode.OK)
