from __future__ import annotations

import re
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from loglane.errors import ConfigError
from loglane.settings import get_settings
from streams.rules import normalize as normalize_rules
from streams.rules import parse as parse_rules
from streams.stages.multiline import group_lines
from streams.stages.parse import Parser, java_trace, logfmt_pairs, parse, python_trace
from tests.unit.streams.records import NOW, log_event

PROJECT = get_settings().project_dir
LEVELS = normalize_rules.load(PROJECT)
PARSER = Parser(parse_rules.load(PROJECT), LEVELS.level)
UTC = timezone.utc

PY_TRACE = """Traceback (most recent call last):
  File "payments/charge.py", line 42, in charge
    gateway.charge(card)
payments.errors.Declined: card issuer declined order ord-7"""
JAVA_TRACE = """java.lang.IllegalStateException: pool exhausted
\tat com.shop.db.Pool.take(Pool.java:88)
\tat com.shop.Checkout.run(Checkout.java:12)
Caused by: java.util.concurrent.TimeoutException: 30s
\tat com.shop.db.Pool.wait(Pool.java:40)
\t... 2 more"""


def test_the_projects_rules_pass_their_own_tests() -> None:
    assert PARSER.document.tests
    assert PARSER.test_failures(NOW) == []


@pytest.mark.parametrize(
    "text, pattern, message, level, attributes",
    [
        ('{"level":"warn","msg":"slow","latency_ms":812,"http":{"path":"/cart"}}', "json", "slow", "WARN",
         {"latency_ms": "812", "http.path": "/cart"}),
        ('{"level": 50, "msg": "boom"}', "json", "boom", "ERROR", {}),  # pino's numbers
        ('{"level": "loud", "msg": "x"}', "json", "x", None, {"level": "loud"}),  # unread: stays
        ('<13>1 - host app - - [meta sequenceId="1"] started', "syslog_rfc5424", "started", "INFO",
         {"syslog.pri": "13", "syslog.hostname": "host", "syslog.app_name": "app",
          "syslog.structured_data": '[meta sequenceId="1"]'}),
        ("Jan 21 10:00:00 web-01 sshd[811]: Accepted publickey for ana", "syslog_rfc3164",
         "Accepted publickey for ana", None, {"syslog.hostname": "web-01", "syslog.app_name": "sshd", "syslog.procid": "811"}),
        ('10.1.2.3 - - [21/Jan/2026:10:00:00 +0000] "POST /api/orders HTTP/2.0" 404 0', "access_log",
         "POST /api/orders 404", "WARN", {"http.client_ip": "10.1.2.3", "http.method": "POST", "http.status": "404"}),
        ('10.1.2.3 - - [21/Jan/2026:10:00:00 +0000] "GET /health HTTP/1.1" 200 2 "-" "kube-probe/1.29"', "access_log",
         "GET /health 200", "INFO", {"http.user_agent": "kube-probe/1.29", "http.bytes": "2"}),
        ("2026-01-21T10:00:00.123Z WARN cache miss for sku-1", "timestamped_line", "cache miss for sku-1", "WARN", {}),
        ('ts=2026-01-21T10:00:00Z level=error msg="db down" retries=3', "logfmt", "db down", "ERROR", {"retries": "3"}),
        ('order failed: {"order": "ord-7", "items": [1, 2]} retrying', "json_embedded", None, None,
         {"order": "ord-7", "items": "[1,2]"}),
    ],
)
def test_each_pattern_extracts_its_fields(
    text: str, pattern: str, message: str | None, level: str | None, attributes: dict[str, str]
) -> None:
    parsed = PARSER.extract(text, NOW)
    assert parsed is not None
    assert parsed.parsers == (pattern,)
    assert (parsed.message, parsed.level) == (message, level)
    assert attributes.items() <= parsed.attributes.items()


@pytest.mark.parametrize("text", ["charged 12.00 EUR for order ord-1", "a=1 but not all pairs", "GET /cart received", ""])
def test_text_no_pattern_reads_is_none(text: str) -> None:
    assert PARSER.extract(text, NOW) is None


def test_logfmt_needs_a_whole_line_of_pairs() -> None:
    assert logfmt_pairs('a=1 b="two words" c=') == {"a": "1", "b": "two words", "c": ""}
    assert logfmt_pairs("a=1") is None
    assert logfmt_pairs("a=1 b=2 loose") is None


def test_a_python_traceback_becomes_the_exception_and_the_head_is_parsed() -> None:
    text = f"2026-01-21 10:00:00,123 ERROR [w-1] payments - charge failed\n{PY_TRACE}"
    parsed = PARSER.extract(text, NOW)
    assert parsed is not None
    assert parsed.parsers == ("python", "timestamped_line")
    assert (parsed.message, parsed.level, parsed.timestamp) == (
        "charge failed", "ERROR", datetime(2026, 1, 21, 10, 0, 0, 123000, tzinfo=UTC),
    )
    assert parsed.exception == {
        "type": "payments.errors.Declined", "message": "card issuer declined order ord-7", "stack": PY_TRACE,
    }


def test_a_java_stack_trace_alone_is_the_exception_and_the_message() -> None:
    parsed = PARSER.extract(f'Exception in thread "main" {JAVA_TRACE}', NOW)
    assert parsed is not None and parsed.parsers == ("java",)
    assert parsed.exception is not None
    assert (parsed.exception["type"], parsed.exception["message"]) == ("java.lang.IllegalStateException", "pool exhausted")
    assert parsed.exception["stack"].endswith("\t... 2 more")
    assert parsed.message == "java.lang.IllegalStateException: pool exhausted"


def test_trace_extractors_ignore_look_alikes() -> None:
    assert python_trace("Traceback is a word") is None
    assert java_trace("see java.lang.String for details\nat noon") is None


def test_the_stream_stage_adds_attributes_and_keeps_the_producers() -> None:
    event = log_event(
        message='{"level": "error", "msg": "db down", "order_id": "from-text", "ts": "2026-03-01T11:00:00Z"}',
        attributes={"order_id": "ord-1"},
    )
    parsed = parse(event, PARSER, NOW)
    assert parsed["message"] == "db down"
    assert parsed["level"] == "ERROR"
    assert parsed["timestamp"] == datetime(2026, 3, 1, 11, tzinfo=UTC)
    assert parsed["attributes"] == {"order_id": "ord-1", "loglane.parser": "json"}


def test_the_stream_stage_keeps_an_existing_exception_and_leaves_plain_text_alone() -> None:
    own = {"type": "Own", "message": "mine", "stack": None}
    parsed = parse(log_event(message=f"failed\n{PY_TRACE}", exception=own), PARSER, NOW)
    assert (parsed["message"], parsed["exception"]) == ("failed", own)
    plain = log_event()
    assert parse(plain, PARSER, NOW) is plain


def test_lines_are_grouped_into_events_with_their_traces() -> None:
    continuation = re.compile(PARSER.document.multiline.continuation)
    lines = [
        "2026-01-21 10:00:00 INFO started",
        "2026-01-21 10:00:01 ERROR failed",
        *PY_TRACE.splitlines(),
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        *PY_TRACE.splitlines(),
        "2026-01-21 10:00:02 ERROR pool",
        *JAVA_TRACE.splitlines(),
        "",
        "plain line",
    ]
    groups = list(group_lines(lines, continuation))
    assert [g.first for g in groups] == [1, 2, 14, 22]
    assert groups[1].text.count("Traceback") == 2 and groups[1].text.endswith("declined order ord-7")
    assert groups[2].text.endswith("... 2 more")
    assert groups[3].text == "plain line"


def test_a_bad_file_names_each_problem(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "parse.yaml").write_text(yaml.safe_dump({
        "stack_traces": ["ruby"],
        "patterns": [
            {"name": "broken", "type": "regex", "regex": "(?P<a>"},
            {"name": "nogroup", "type": "regex", "regex": "^x$"},
            {"name": "wrong_ref", "type": "regex", "regex": "(?P<a>x)", "message": "{b}"},
            {"name": "x", "type": "yaml"},
        ],
    }))
    with pytest.raises(ConfigError) as raised:
        parse_rules.load(tmp_path)
    lines = str(raised.value).splitlines()
    assert lines[0].startswith("rules/parse.yaml: stack_traces[0]: Input should be 'python' or 'java'")
    assert lines[1].startswith("rules/parse.yaml: patterns[0].regex.regex: not a regular expression: missing ),")
    assert lines[2] == "rules/parse.yaml: patterns[1].regex: the regex has no named groups ((?P<name>...)): nothing to extract"
    assert lines[3] == "rules/parse.yaml: patterns[2].regex: message: no group 'b' in the regex; groups: a"
    assert lines[4].startswith("rules/parse.yaml: patterns[3]: Input tag 'yaml' found using 'type' does not match")


def test_parsing_long_text_stays_linear() -> None:
    text = "{" * 20_000 + "x=" * 20_000 + " at " * 20_000
    started = time.perf_counter()
    PARSER.extract(text, NOW)
    assert time.perf_counter() - started < 2.0
