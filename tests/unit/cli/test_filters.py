"""`loglane mask` and `loglane parse`, in-process, on the project's own rule files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from loglane.cli import cli
from loglane.settings import get_settings
from tests.support import copy_project

PY_TRACE = 'Traceback (most recent call last):\n  File "pay.py", line 4, in charge\n    raise Declined()\nDeclined: no funds\n'


def run(*args: str, stdin: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_mask_replaces_pii_line_by_line_and_sums_up_on_request() -> None:
    code, out, err = run("mask", "--summary", stdin="paid 4111 1111 1111 1111 by ana@example.com\nno pii\npassword=x1\n")
    assert code == 0
    assert out == "paid <card> by <email>\nno pii\npassword=<secret>\n"
    assert err == "mask: replaced 3 value(s): card 1, email 1, secret 1\n"


def test_mask_follows_the_tenant_and_field_rules() -> None:
    assert run("mask", stdin="from 10.1.2.3\n")[1] == "from 10.1.2.3\n"  # ipv4 is off in messages
    assert run("mask", "--field", "attributes.client_ip", stdin="10.1.2.3\n")[1] == "<ipv4>\n"
    assert run("mask", "--tenant", "example-bank", stdin="from 10.1.2.3\n")[1] == "from <ipv4>\n"
    assert run("mask", "--field", "attributes.db_password", stdin="hunter2\n")[1] == "<secret>\n"


def test_mask_refuses_an_unknown_field() -> None:
    code, _, err = run("mask", "--field", "body", stdin="x\n")
    assert code == 2 and "a field is message, exception.message" in err


def test_parse_writes_one_normalized_masked_event_per_line_or_trace() -> None:
    lines = (
        '{"level": "warn", "msg": "slow checkout for ana@example.com", "ts": "2026-01-21T10:00:00Z"}\n'
        "2026-01-21 10:00:01,250 ERROR [w-1] payments - charge failed\n" + PY_TRACE +
        '203.0.113.9 - - [21/Jan/2026:10:00:02 +0000] "GET /cart HTTP/1.1" 502 0\n'
    )
    code, out, err = run("parse", "--service", "checkout", "--clock", "2026-01-22", stdin=lines)
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [(e["level"], e["timestamp"], e["message"]) for e in events] == [
        ("WARN", "2026-01-21T10:00:00.000Z", "slow checkout for <email>"),
        ("ERROR", "2026-01-21T10:00:01.250Z", "charge failed"),
        ("ERROR", "2026-01-21T10:00:02.000Z", "GET /cart 502"),
    ]
    assert events[0]["pii_masked"] == 1 and events[0]["service"] == "checkout"
    assert events[1]["exception"]["type"] == "Declined" and events[1]["exception"]["stack"] == PY_TRACE.rstrip()
    assert events[2]["attributes"]["http.client_ip"] == "<ipv4>"  # a client's address is masked
    assert events[2]["attributes"]["loglane.parser"] == "access_log"
    assert err == "parse: 3 event(s), 0 unparseable\n"
    assert run("parse", "--service", "checkout", "--clock", "2026-01-22", stdin=lines)[1] == out  # deterministic


def test_parse_reports_unparseable_lines_with_their_number_and_reason() -> None:
    code, out, err = run("parse", "--clock", "2026-01-22", stdin="just words\nlevel=info msg=ok\n")
    assert code == 0
    assert len(out.splitlines()) == 1
    first, summary = err.splitlines()
    assert first.startswith("line 1: unparseable: no stack trace and no pattern matched (tried python, java, json,")
    assert first.endswith("'just words'")
    assert summary == "parse: 1 event(s), 1 unparseable"


def test_parse_flags_what_the_stream_would_flag() -> None:
    out = run("parse", "--clock", "2026-03-01", stdin="2026-01-21 10:00:00 INFO old news\n")[1]
    event = json.loads(out)
    assert event["attributes"]["loglane.flag"] == "stale_timestamp"
    assert event["attributes"]["loglane.original_timestamp"] == "2026-01-21T10:00:00.000Z"
    assert event["timestamp"] == "2026-03-01T00:00:00.000Z"


def test_parse_enriches_from_the_environment_rules_and_the_declared_catalog() -> None:
    line = "2026-01-21 10:00:00 INFO paid\n"
    paid = json.loads(run("parse", "--service", "payments", "--environment", "prod", "--clock", "2026-01-22", stdin=line)[1])
    assert (paid["region"], paid["cluster"], paid["owner_team"], paid["tier"]) == (
        "eu-west-1", "prod-eu-1", "payments", "tier-1",
    )
    unknown = json.loads(run("parse", "--environment", "qa", "--clock", "2026-01-22", stdin=line)[1])
    assert (unknown["region"], unknown["owner_team"]) == (None, None)


def test_filters_refuse_invalid_rules_naming_the_file(tmp_path: Path) -> None:
    project = copy_project(get_settings().project_dir, tmp_path)
    (project / "rules" / "parse.yaml").write_text("patterns: 3\n")
    result = CliRunner().invoke(cli, ["parse", "--project-dir", str(project)], input="x\n")
    assert result.exit_code != 0
    assert "rules/parse.yaml: patterns: Input should be a valid list" in str(result.exception)


@pytest.mark.parametrize("verb", ["mask", "parse"])
def test_filters_are_documented(verb: str) -> None:
    result = CliRunner().invoke(cli, [verb, "--help"])
    assert result.exit_code == 0 and "stdin" in result.output


def test_mask_pseudonymizes_with_the_key_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import SecretStr

    from loglane.cli import filters
    from loglane.settings import Settings

    project = copy_project(get_settings().project_dir, tmp_path)
    pii = project / "rules" / "pii.yaml"
    rules = yaml.safe_load(pii.read_text())
    rules["tenants"]["example-bank"]["recognizers"]["email"] = {"action": "hmac"}
    pii.write_text(yaml.safe_dump(rules))
    args = ["mask", "--tenant", "example-bank", "--project-dir", str(project)]
    without = CliRunner().invoke(cli, args, input="x\n")
    assert "tenants.example-bank.recognizers.email.action: hmac needs a key; set LOGLANE_PII_HMAC_KEY" in str(
        without.exception
    )
    monkeypatch.setattr(filters, "get_settings", lambda: Settings(pii_hmac_key=SecretStr("k-1")))
    result = CliRunner().invoke(cli, args, input="by Ana@Example.com\nfor ana@example.com\n")
    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()
    pseudonym = first.removeprefix("by ")
    assert pseudonym.startswith("<email:") and second == f"for {pseudonym}"
