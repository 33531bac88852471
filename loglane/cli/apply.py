"""`loglane validate | plan | apply`, `loglane schemas check`, `loglane connectors status`.

Exit codes (loglane.errors.ExitCode): 0 ok; 1 something checked or done failed (a refused change,
an incompatible schema, a connector not RUNNING, a service that does not answer); 2 a bug;
3 only for `plan --detailed-exitcode`, changes pending; 78 a declarative file is invalid."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from loglane.apply import Refused, connectors, execute, make_plan, project, schemas
from loglane.apply.plan import Action, Plan, Step
from loglane.apply.validate import exit_code, validate
from loglane.errors import ExitCode
from loglane.settings import Settings, get_settings

F = TypeVar("F", bound=Callable[..., Any])


def project_option(command: F) -> F:
    """--project-dir, defined once for every verb that reads the project's files."""
    return click.option(
        "--project-dir",
        type=click.Path(file_okay=False, exists=True, path_type=Path),
        default=None,
        help="The project: topics.yaml, schemas/, opensearch/, connectors/ (default: LOGLANE_PROJECT_DIR, "
        "or this checkout).",
    )(command)


def _context(project_dir: Path | None) -> tuple[Settings, Path]:
    settings = get_settings()
    return settings, project_dir or settings.project_dir


@click.command("validate")
@project_option
@click.option("--offline", is_flag=True, help="Only parse and check references; contact no service.")
def validate_command(project_dir: Path | None, offline: bool) -> None:
    """Check the project in layers (parse, references, reachability, Connect's validation); print every
    error. Exit 78 for an invalid file, 1 for a service that does not answer."""
    settings, directory = _context(project_dir)
    layers = validate(settings, directory, offline)
    for layer in layers:
        if not layer.ran:
            click.echo(f"{layer.name}: skipped ({'--offline' if offline else 'fix the errors above first'})")
        elif layer.errors:
            click.echo(f"{layer.name}: {len(layer.errors)} error(s)")
            for error in layer.errors:
                click.echo(f"  {error}")
        else:
            click.echo(f"{layer.name}: ok" + (f" ({layer.summary})" if layer.summary else ""))
    code = exit_code(layers)
    verdicts = {ExitCode.OK: "valid", ExitCode.INVALID_CONFIG: "invalid"}
    click.echo(f"{verdicts.get(code, 'valid files, but a service did not answer')} (exit {int(code)})")
    sys.exit(code)


def _show(plan: Plan) -> None:
    for line in plan.render():
        click.echo(line)


@click.command("plan")
@project_option
@click.option("--detailed-exitcode", is_flag=True,
              help="Exit 3 when changes are pending (0: nothing to do). Not 2, like Terraform: 2 is our bug code.")
def plan_command(project_dir: Path | None, detailed_exitcode: bool) -> None:
    """Show what apply would change (topics, schemas, index templates, connectors); change nothing."""
    settings, directory = _context(project_dir)
    plan = make_plan(settings, project.load(directory))
    _show(plan)
    if plan.refused:
        sys.exit(ExitCode.FAILED)
    if detailed_exitcode and plan.pending:
        sys.exit(ExitCode.CHANGES_PENDING)


def _done(step: Step) -> None:
    click.echo(f"{step.action.symbol} {step.title}: done")


@click.command("apply")
@project_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask; never asked when stdin is not a terminal.")
def apply_command(project_dir: Path | None, yes: bool) -> None:
    """Compute the plan, show it, then carry it out; a refused change means nothing is applied."""
    settings, directory = _context(project_dir)
    plan = make_plan(settings, project.load(directory))
    _show(plan)
    if not plan.pending and not plan.refused:
        click.echo("Nothing to apply.")
        return
    if not plan.refused and not yes and sys.stdin.isatty():
        click.confirm(f"Apply {len(plan.pending)} change(s)?", abort=True)
    try:
        execute(plan, _done)
    except Refused as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    click.echo(
        f"Apply complete: {plan.count(Action.CREATE)} created, {plan.count(Action.UPDATE)} updated, "
        f"{plan.count(Action.UNCHANGED)} unchanged."
    )


@click.group("schemas")
def schemas_group() -> None:
    """The registry's view of schemas/*.avsc."""


@schemas_group.command("check")
@project_option
def schemas_check(project_dir: Path | None) -> None:
    """Prove each subject's working-tree schema is compatible with what the registry holds (exit 1 if not)."""
    settings, directory = _context(project_dir)
    verdicts = schemas.check_tree(settings, project.load(directory).schemas)
    for spec, verdict, problems in verdicts:
        click.echo(f"{'FAIL' if problems else 'ok':<4}  {spec.subject} ({spec.file}): {verdict}")
        for problem in problems:
            click.echo(f"      {problem.render(spec)}")
    if any(problems for _, _, problems in verdicts):
        sys.exit(ExitCode.FAILED)


@click.group("connectors")
def connectors_group() -> None:
    """The project's connectors as Kafka Connect runs them."""


def _trace(trace: str | None, verbose: bool) -> str:
    if not trace:
        return ""
    return f"\n{trace}" if verbose else f": {trace.strip().splitlines()[0]}"


@connectors_group.command("status")
@project_option
@click.option("--verbose", "-v", is_flag=True, help="Print the whole error trace of a failed connector or task.")
def connectors_status(project_dir: Path | None, verbose: bool) -> None:
    """Each connector's and task's state; exit 1 unless every one is RUNNING."""
    settings, directory = _context(project_dir)
    found = connectors.statuses(settings, project.load(directory).connectors)
    for status in found:
        click.echo(f'connector "{status.name}": {status.state}{_trace(status.trace, verbose)}')
        if status.state == "MISSING":
            click.echo("    not in Connect; `loglane apply` creates it")
        elif not status.tasks:
            click.echo("    no tasks yet")
        for task_id, state, trace in status.tasks:
            click.echo(f"    task {task_id}: {state}{_trace(trace, verbose)}")
    if not all(status.healthy for status in found):
        sys.exit(ExitCode.FAILED)


COMMANDS = (validate_command, plan_command, apply_command, schemas_group, connectors_group)
