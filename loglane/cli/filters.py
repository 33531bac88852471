"""`loglane mask` and `loglane parse`: Unix filters over the stream worker's own stages and the
project's rule files, to try rules on real logs before the stream applies them."""

from __future__ import annotations

import json
import sys
import uuid
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

import click

from loglane.cli.apply import project_option
from loglane.errors import ExitCode
from loglane.settings import get_settings

# Deterministic event ids for parsed lines: the same input gives the same output.
LINE_NAMESPACE = uuid.UUID("6f1c3f4e-93b1-4d38-9a64-0c1d2b0e7a55")
FIELDS = "message, exception.message, exception.stack or attributes.<key>"


def _stdin() -> TextIO:
    return click.get_text_stream("stdin", errors="replace")


def _project(project_dir: Path | None) -> Path:
    return project_dir or get_settings().project_dir


@click.command("mask")
@project_option
@click.option("--tenant", default="default", show_default=True, help="Whose rules apply (rules/pii.yaml tenants).")
@click.option("--field", default="message", show_default=True, help=f"The field the lines stand for: {FIELDS}.")
@click.option("--summary", is_flag=True, help="Print on stderr how many values of each kind were replaced.")
def mask_command(project_dir: Path | None, tenant: str, field: str, summary: bool) -> None:
    """Mask PII in each line on stdin, as the stream worker masks that tenant's field; masked lines
    on stdout. Rules: rules/pii.yaml (the hmac action needs LOGLANE_PII_HMAC_KEY)."""
    from streams.rules import pii
    from streams.stages.mask import mask_attribute, mask_text

    settings = get_settings()
    rules = pii.load(_project(project_dir), settings.pii_hmac_key)
    if field not in pii.FIXED_FIELDS and not field.startswith("attributes."):
        raise click.BadParameter(f"{field!r}: a field is {FIELDS}", param_hint="--field")
    policy = rules.for_field(tenant, field)
    total: Counter[str] = Counter()
    out = click.get_text_stream("stdout")
    for line in _stdin():
        text = line.rstrip("\n")
        if field.startswith("attributes."):
            masked, counts = mask_attribute(field.removeprefix("attributes."), text, policy, tenant, rules.pseudonyms)
            masked = masked or ""
        else:
            masked, counts = mask_text(text, policy, tenant, rules.pseudonyms)
        total.update(counts)
        out.write(masked + "\n")
    if summary:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(total.items())) or "nothing"
        click.echo(f"mask: replaced {sum(total.values())} value(s): {kinds}", err=True)


def _json_event(event: dict[str, Any], masked: int) -> str:
    exception = event["exception"]
    document = {
        "event_id": event["event_id"],
        "timestamp": event["timestamp"].isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "service": event["service"],
        "environment": event["environment"],
        "tenant": event["tenant"],
        "region": event["region"],
        "cluster": event["cluster"],
        "owner_team": event["owner_team"],
        "tier": event["tier"],
        "level": event["level"],
        "message": event["message"],
        "trace_id": event["trace_id"],
        "attributes": event["attributes"],
        "exception": exception,
        "pii_masked": masked,
    }
    return json.dumps(document, ensure_ascii=False)


@click.command("parse")
@project_option
@click.option("--service", default="cli", show_default=True, help="The events' service.")
@click.option("--environment", default="dev", show_default=True, help="The events' environment.")
@click.option("--tenant", default="default", show_default=True, help="The events' tenant (its masking rules apply).")
@click.option("--clock", type=click.DateTime(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]), default=None,
              help="The stream's clock, UTC (default: now): what implausible timestamps are judged against.")
@click.option("--no-mask", is_flag=True, help="Leave PII in (the stream always masks).")
def parse_command(
    project_dir: Path | None, service: str, environment: str, tenant: str, clock: datetime | None, no_mask: bool
) -> None:
    """Parse raw log lines on stdin as the stream worker parses event messages; one normalized event
    per line (a stack trace's lines make one event) as JSON on stdout. A line no pattern reads is
    reported on stderr with the reason, and left out. Rules: rules/parse.yaml, normalize.yaml,
    enrich.yaml, pii.yaml; owner team and tier from services.yaml."""
    from loglane.services import read_catalog
    from streams import rules as rule_files
    from streams.stages.enrich import enrich
    from streams.stages.mask import mask
    from streams.stages.multiline import group_lines
    from streams.stages.normalize import normalize
    from streams.stages.parse import parse
    from streams.stages.types import Rejection
    from streams.stages.validate import validate

    settings = get_settings()
    directory = _project(project_dir)
    rules = rule_files.load(directory, settings.pii_hmac_key)
    services = read_catalog(directory)  # the declared file: what `loglane apply` would give the workers
    now = clock.replace(tzinfo=timezone.utc) if clock else datetime.now(timezone.utc)
    out = click.get_text_stream("stdout")
    events = unparsed = 0
    tried = ", ".join([trace.value for trace in rules.parser.document.stack_traces] + rules.parser.pattern_names)
    for lines in group_lines(_stdin(), rules.parser.continuation):
        if rules.parser.extract(lines.text, now) is None:
            unparsed += 1
            click.echo(f"line {lines.first}: unparseable: no stack trace and no pattern matched "
                       f"(tried {tried}): {lines.text[:80]!r}", err=True)
            continue
        event_id = str(uuid.uuid5(LINE_NAMESPACE, f"{service}\x1f{lines.first}\x1f{lines.text}"))
        envelope = {
            "event_id": event_id, "timestamp": now, "service": service, "environment": environment,
            "level": "INFO", "message": lines.text, "trace_id": uuid.UUID(event_id).hex, "span_id": None,
            "tenant": tenant, "attributes": {}, "exception": None,
        }
        # The stream's stages, in the stream's order (decode aside: lines are no Avro).
        event: dict[str, Any] | Rejection = validate(envelope)
        if not isinstance(event, Rejection):
            event = normalize(parse(event, rules.parser, now), now, rules.normalize)
        if isinstance(event, Rejection):
            unparsed += 1
            click.echo(f"line {lines.first}: {event.stage}: {event.reason}", err=True)
            continue
        event = enrich(event, rules.enrich, services)
        masked = 0
        if not no_mask:
            event, masked, _ = mask(event, rules.pii)
        out.write(_json_event(event, masked) + "\n")
        events += 1
    click.echo(f"parse: {events} event(s), {unparsed} unparseable", err=True)
    sys.exit(ExitCode.OK)
