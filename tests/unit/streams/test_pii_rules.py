from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from bench.pii_recall import evaluate
from loglane.errors import ConfigError
from loglane.settings import get_settings
from streams.rules import pii
from streams.stages.recognizers import NAMES

PROJECT = get_settings().project_dir


def write(tmp_path: Path, document: object) -> Path:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "pii.yaml").write_text(yaml.safe_dump(document))
    return tmp_path


def problems(tmp_path: Path, document: object, key: SecretStr | None = None) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        pii.load(write(tmp_path, document), key)
    return str(raised.value).splitlines()


def test_the_projects_rules_load_and_their_own_tests_pass() -> None:
    rules = pii.load(PROJECT, None)
    assert rules.document.tests
    assert rules.test_failures() == []


def test_the_labelled_corpus_is_masked_with_full_precision_and_recall() -> None:
    score = evaluate(PROJECT / "tests" / "corpus" / "pii.jsonl", pii.load(PROJECT, None))
    assert score.misses == [] and score.false_finds == []
    assert {"email", "card", "ssn", "iban", "ipv4", "ipv6", "jwt", "aws_access_key", "aws_secret_key",
            "private_key", "secret"} <= set(score.expected)


def test_errors_name_the_file_and_the_field(tmp_path: Path) -> None:
    lines = problems(tmp_path, {
        "defaults": {"action": "scramble", "recognizers": {"emial": {}}},
        "tenants": {"shop": {"fields": {"body": {}, "attributes.x": {"scan": "maybe", "colour": 1}}}},
    })
    assert sorted(lines) == sorted([
        "rules/pii.yaml: defaults.recognizers.emial: unknown recognizer; known: " + ", ".join(NAMES),
        "rules/pii.yaml: defaults.action: Input should be 'mask', 'hmac' or 'drop'",
        "rules/pii.yaml: tenants.shop.fields.body: no such field; fields are message, exception.message, "
        "exception.stack and attributes.<key> (globs allowed)",
        "rules/pii.yaml: tenants.shop.fields.attributes.x.scan: Input should be a valid boolean, unable to interpret input",
        "rules/pii.yaml: tenants.shop.fields.attributes.x.colour: unknown key",
    ])


def test_unknown_keys_are_errors(tmp_path: Path) -> None:
    assert problems(tmp_path, {"default": {}}) == ["rules/pii.yaml: default: unknown key"]


def test_hmac_without_a_key_names_every_use_and_the_setting(tmp_path: Path) -> None:
    document = {"tenants": {"shop": {"recognizers": {"email": {"action": "hmac"}}}}}
    assert problems(tmp_path, document) == [
        "rules/pii.yaml: tenants.shop.recognizers.email.action: hmac needs a key; set LOGLANE_PII_HMAC_KEY",
    ]
    assert pii.load(tmp_path, SecretStr("k")).pseudonyms is not None


def test_a_failing_file_test_is_reported(tmp_path: Path) -> None:
    shutil.copytree(PROJECT / "rules", tmp_path / "rules")
    rules = pii.from_mapping({"tests": [{"input": "ana@example.com", "output": "ana@example.com"}]})
    assert rules.test_failures() == [
        "rules/pii.yaml: tests[0]: 'ana@example.com' gave '<email>', expected 'ana@example.com'"
    ]


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rules/pii.yaml: no such file"):
        pii.load(tmp_path, None)
