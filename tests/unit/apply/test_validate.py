"""`loglane validate --offline` on temporary copies of the project: every error, each prefixed."""

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from loglane.apply.validate import Layer, exit_code
from loglane.cli import cli
from loglane.errors import ExitCode
from loglane.settings import get_settings
from tests.support import copy_project


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(get_settings().project_dir, tmp_path)


def validate(project: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, ["validate", "--offline", "--project-dir", str(project)])
    return result.exit_code, result.output.splitlines()


def test_the_projects_own_files_are_valid(project: Path) -> None:
    code, lines = validate(project)
    assert code == 0, lines
    assert lines == [
        "parse: ok (12 topics, 6 schemas, 1 templates, 4 connectors, 4 alert rules, 5 services)",
        "references: ok",
        "stream rules: ok (6 files, 28 tests pass)",
        "reachability: skipped (--offline)",
        "connect: skipped (--offline)",
        "valid (exit 0)",
    ]


def test_every_error_is_reported_with_what_it_is_about_and_exit_78(project: Path) -> None:
    topics = yaml.safe_load((project / "topics.yaml").read_text())
    topics["topics"][0]["partitions"] = 0
    topics["topics"][1]["value_schema"] = "missing.avsc"
    topics["topics"][3]["retention"] = "7d"
    (project / "topics.yaml").write_text(yaml.safe_dump(topics))
    schema = json.loads((project / "schemas" / "log_event.avsc").read_text())
    next(f for f in schema["fields"] if f["name"] == "level")["type"] = "strng"
    (project / "schemas" / "log_event.avsc").write_text(json.dumps(schema))
    (project / "opensearch" / "logs-template.json").write_text('{"index_patterns": ["logs-*"]}')
    connector = json.loads((project / "connectors" / "s3-archive.json").read_text())
    connector["topics"] = "${topic:procesed}"
    (project / "connectors" / "s3-archive.json").write_text(json.dumps(connector))

    code, lines = validate(project)

    assert code == 78
    errors = [line.strip() for line in lines if line.startswith("  ")]
    assert errors[0] == "topics.yaml: topics[0] (logs.raw): 'partitions' must be a positive integer, not 0"
    assert errors[1].startswith("topics.yaml: topics[3] (logs.deadletter): unknown keys ['retention']")
    assert errors[2].startswith('schemas/log_event.avsc: field "level": ')
    assert errors[3] == "opensearch/logs-template.json: missing template (an index template needs both)"
    assert errors[4] == "topics.yaml: topics[1] (logs.processed): value_schema: no file schemas/missing.avsc"
    assert errors[5].startswith('connector "s3-archive": "topics": ${topic:procesed}: no topic has role')
    assert len(errors) == 6
    assert lines[0] == "parse: 4 error(s)"
    assert "references: 2 error(s)" in lines
    assert lines[-1] == "invalid (exit 78)"


def test_the_stream_rule_files_are_checked_with_their_tests(project: Path) -> None:
    pii = project / "rules" / "pii.yaml"
    pii.write_text(pii.read_text().replace("action: mask", "action: scramble", 1) + "  - {input: x@y.io, output: x@y.io}\n")
    (project / "rules" / "parse.yaml").write_text("patterns: [{name: bad, type: regex, regex: '(?P<a>x)', level: {group: b}}]\n")

    code, lines = validate(project)

    assert code == 78
    assert "stream rules: 2 error(s)" in lines
    errors = [line.strip() for line in lines if line.startswith("  ")]
    assert errors[0].startswith("rules/pii.yaml: defaults.action: Input should be 'mask', 'hmac' or 'drop'")
    assert errors[1] == "rules/parse.yaml: patterns[0].regex: level.group: no group 'b' in the regex; groups: a"


def test_an_invalid_file_outranks_an_unreachable_service() -> None:
    unreachable = Layer("reachability", ["kafka: cannot reach"], ExitCode.FAILED)
    assert exit_code([Layer("parse"), unreachable]) is ExitCode.FAILED
    assert exit_code([Layer("connect", ['connector "x": bad']), unreachable]) is ExitCode.INVALID_CONFIG
    assert exit_code([Layer("parse"), Layer("references")]) is ExitCode.OK
