"""The project's declarative files, read and checked offline in two layers: parse, then references."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from loglane.apply import connectors, schemas, templates
from loglane.apply.connectors import ConnectorSpec
from loglane.apply.schemas import SchemaSpec
from loglane.apply.templates import TemplateSpec
from loglane.alerts.rules import Limits, Rule, load_rules
from loglane.apply.records import ALERT_RULES, SERVICES
from loglane.apply.topics import MIN_ISR
from loglane.catalog import TopicSpec, parse_topics
from loglane.errors import ConfigError
from loglane.services import Service, load_services
from loglane.settings import get_settings


@dataclass(frozen=True)
class Project:
    directory: Path
    topics: list[TopicSpec] = field(default_factory=list)
    schemas: list[SchemaSpec] = field(default_factory=list)
    templates: list[TemplateSpec] = field(default_factory=list)
    connectors: list[ConnectorSpec] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)  # rules/alerts.yaml
    services: list[Service] = field(default_factory=list)  # services.yaml

    @property
    def topic_names(self) -> dict[str, str]:
        """Role -> topic name: what ${topic:ROLE} renders to."""
        return {t.role: t.name for t in self.topics}


@dataclass(frozen=True)
class Checked:
    project: Project
    parse_errors: list[str]
    reference_errors: list[str]

    @property
    def errors(self) -> list[str]:
        return self.parse_errors + self.reference_errors


def _read_topics(directory: Path) -> tuple[list[TopicSpec], list[str], dict[str, str]]:
    """The topics, the problems, and each topic's place in the file for later messages."""
    try:
        document = yaml.safe_load((directory / "topics.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        return [], [f"topics.yaml: cannot read it: {exc}"], {}
    topics, errors = parse_topics(document, "topics.yaml")
    entries = enumerate(document.get("topics", []) if isinstance(document, dict) else [])
    places = {
        e["name"]: f"topics.yaml: topics[{n}] ({e['name']})" for n, e in entries if isinstance(e, dict) and "name" in e
    }
    return topics, errors, places


def _parse_schema_files(directory: Path) -> tuple[set[str], list[str]]:
    """The .avsc files that parse (by file name), and every problem, naming the file and field."""
    good: set[str] = set()
    errors: list[str] = []
    for path in sorted((directory / "schemas").glob("*.avsc")):
        label = f"schemas/{path.name}"
        try:
            problems = schemas.parse_problems(label, json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            problems = [f"{label}: not valid JSON: {exc}"]
        errors.extend(problems)
        if not problems:
            good.add(path.name)
    return good, errors


def _topic_references(
    topics: list[TopicSpec], places: dict[str, str], parsed_schemas: set[str], directory: Path
) -> list[str]:
    errors: list[str] = []
    for topic in topics:
        where = places[topic.name]
        # A value_schema that did not parse was reported by the parse layer.
        if topic.value_schema and topic.value_schema not in parsed_schemas:
            if not (directory / "schemas" / topic.value_schema).is_file():
                errors.append(f"{where}: value_schema: no file schemas/{topic.value_schema}")
            elif not topic.value_schema.endswith(".avsc"):
                errors.append(f"{where}: value_schema: {topic.value_schema} is not an .avsc file")
        if MIN_ISR in topic.config and not topic.config[MIN_ISR].isdigit():
            errors.append(f"{where}: config: {MIN_ISR} must be a whole number, not {topic.config[MIN_ISR]!r}")
    return errors


def check(directory: Path, plugins: Collection[str] | None) -> Checked:
    """Every offline problem. plugins: the connector classes to accept (None: leave it to Connect)."""
    topics, topic_errors, places = _read_topics(directory)
    parsed_schemas, schema_errors = _parse_schema_files(directory)
    template_specs, template_errors = templates.load(directory)
    connector_specs, connector_errors = connectors.load(directory)
    rules, rule_errors = load_rules(directory, Limits.from_settings(get_settings()))
    services, service_errors = load_services(directory)
    parse_errors = topic_errors + schema_errors + template_errors + connector_errors + rule_errors + service_errors
    roles = {t.role: t.name for t in topics}
    reference_errors = (
        _topic_references(topics, places, parsed_schemas, directory)
        + [problem for spec in connector_specs for problem in connectors.reference_problems(spec, roles, plugins)]
        + ALERT_RULES.reference_problems(rules, roles)
        + SERVICES.reference_problems(services, roles)
    )
    with_schemas = [t for t in topics if t.value_schema in parsed_schemas]
    project = Project(
        directory, topics, schemas.specs(directory, with_schemas), template_specs, connector_specs, rules, services
    )
    return Checked(project, parse_errors, reference_errors)


def load(directory: Path, plugins: Collection[str] | None = None) -> Project:
    """The project, or a ConfigError listing every problem (plan and apply refuse a broken project)."""
    checked = check(directory, plugins)
    if checked.errors:
        raise ConfigError("the project is not valid (run `loglane validate`):\n  " + "\n  ".join(checked.errors))
    return checked.project
