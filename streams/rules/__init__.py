"""The stream's rule sets, each data in a file under the project's rules/ directory, read into
frozen, typed values the stages use. A file that does not hold is a ConfigError naming the file and
the field (``rules/pii.yaml: tenants.shop.recognizers.emial: unknown recognizer``).

| file | read by | used by |
| --- | --- | --- |
| ``rules/pii.yaml`` | streams.rules.pii | stages.mask (and ``loglane mask``) |
| ``rules/normalize.yaml`` | streams.rules.normalize | stages.normalize |
| ``rules/parse.yaml`` | streams.rules.parse | stages.parse (and ``loglane parse``) |
| ``rules/sampling.yaml`` | streams.rules.sampling | stages.sample |
| ``rules/routing.yaml`` | streams.rules.routing | stages.route |
| ``rules/enrich.yaml`` | streams.rules.enrich | stages.enrich (and ``loglane parse``) |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from pydantic import SecretStr

from loglane.errors import ConfigError
from loglane.catalog import load_topics
from streams.rules import enrich, normalize, parse, pii, routing, sampling
from streams.stages.parse import Parser

T = TypeVar("T")


@dataclass(frozen=True)
class Rules:
    """Every rule set the stream's stages use, read from one project's rules/ directory."""

    pii: pii.PiiRules
    normalize: normalize.NormalizeRules
    parser: Parser
    sampling: sampling.SamplingRules
    routing: routing.RoutingRules
    enrich: enrich.EnrichRules


class _Problems:
    """Loads rule files one after another, keeping every file's problems instead of stopping."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def attempt(self, loader: Callable[[], T]) -> T | None:
        try:
            return loader()
        except ConfigError as exc:
            self.lines.extend(str(exc).splitlines())
            return None


def load(project_dir: Path, hmac_key: SecretStr | None = None) -> Rules:
    """The project's rules; a ConfigError naming every problem of every file."""
    problems = _Problems()
    masking = problems.attempt(lambda: pii.load(project_dir, hmac_key))
    levels = problems.attempt(lambda: normalize.load(project_dir))
    patterns = problems.attempt(lambda: parse.load(project_dir))
    samples = problems.attempt(lambda: sampling.load(project_dir))
    routes = problems.attempt(lambda: routing.load(project_dir))
    places = problems.attempt(lambda: enrich.load(project_dir))
    if masking is None or levels is None or patterns is None or samples is None or routes is None or places is None:
        raise ConfigError("the rule files are not valid (run `loglane validate`):\n  " + "\n  ".join(problems.lines))
    return Rules(masking, levels, Parser(patterns, levels.level), samples, routes, places)


@dataclass(frozen=True)
class Checked:
    """What `loglane validate` reports about the rule files."""

    problems: list[str]
    files: list[str]
    tests: int


def check(project_dir: Path, hmac_key: SecretStr | None, now: datetime | None = None) -> Checked:
    """Every problem of every rule file, then the files' own tests (run only on files that load)."""
    now = now or datetime.now(timezone.utc)
    problems = _Problems()
    tests = 0
    masking = problems.attempt(lambda: pii.load(project_dir, hmac_key))
    levels = problems.attempt(lambda: normalize.load(project_dir))
    patterns = problems.attempt(lambda: parse.load(project_dir))
    samples = problems.attempt(lambda: sampling.load(project_dir))
    routes = problems.attempt(lambda: routing.load(project_dir))
    problems.attempt(lambda: enrich.load(project_dir))  # no tests: a lookup table
    failures: list[str] = []
    if masking is not None:
        failures += masking.test_failures()
        tests += len(masking.document.tests)
    if levels is not None:
        failures += levels.test_failures()
        tests += len(levels.document.tests)
        if patterns is not None:
            failures += Parser(patterns, levels.level).test_failures(now)
            tests += len(patterns.tests)
    if samples is not None:
        failures += samples.test_failures()
        tests += len(samples.document.tests)
    if routes is not None:
        try:
            failures += routes.reference_problems(load_topics(project_dir / "topics.yaml"))
        except ConfigError:
            pass  # topics.yaml's own problems are the parse layer's to report
    files = [pii.FILE, normalize.FILE, parse.FILE, sampling.FILE, routing.FILE, enrich.FILE]
    return Checked(problems.lines + failures, files, tests)
