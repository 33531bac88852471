"""`loglane alerts test RULE --events FILE`: a dry run on event time, in-process."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from loglane.cli import cli
from loglane.settings import get_settings
from tests.support import copy_project
from tests.unit.alerts.rules import T0

RULES = """
rules:
  - name: storm
    scope: {service: checkout}
    condition: {count: {level: ERROR, window: 1m, grace: 10s, above: 5}}
    severity: P1
"""


def event(ms: int, level: str = "error", service: str = "checkout") -> str:
    return json.dumps({"event_id": f"e-{ms}-{level}", "timestamp": T0 + ms, "service": service,
                       "environment": "prod", "tenant": "shop", "level": level})


def test_a_dry_run_prints_when_the_rule_fires_and_resolves(tmp_path: Path) -> None:
    project = copy_project(get_settings().project_dir, tmp_path / "project")
    (project / "rules" / "alerts.yaml").write_text(RULES)
    events = tmp_path / "events.jsonl"
    lines = [event(1000 * n) for n in range(8)] + [event(2000, service="web")] + [event(200_000, "info")]
    events.write_text("\n".join(lines) + "\n\n")

    result = CliRunner().invoke(cli, ["alerts", "test", "storm", "--events", str(events), "--project-dir", str(project)])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == ("storm [P1]: count(level >= ERROR) over 1m > 5; scope tenant=* service=checkout "
                        "environment=*; cooldown 15m")
    assert lines[1].startswith("2026-03-01T12:01:10Z  FIRED     checkout (prod, tenant shop): 8 > 5 in window "
                               "2026-03-01T12:00:00Z to 2026-03-01T12:01:00Z; samples e-0-error, ")
    assert lines[2].startswith("2026-03-01T12:02:10Z  RESOLVED  checkout (prod, tenant shop): ")
    assert lines[3] == "1 fired, 1 resolved, over 10 events."


def test_a_bad_line_is_named_by_file_and_line(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(event(0) + "\n{\"service\": \"x\"}\n")
    result = CliRunner().invoke(cli, ["alerts", "test", "error-storm", "--events", str(events)])
    assert result.exit_code != 0
    assert f"{events}:2: not a log event (KeyError" in str(result.exception)
