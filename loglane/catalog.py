"""The project's declared names, read from topics.yaml and schemas/: code asks by role, never by literal."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from loglane.errors import ConfigError
from loglane.settings import get_settings


@dataclass(frozen=True)
class TopicSpec:
    role: str
    name: str
    partitions: int
    replication_factor: int
    config: dict[str, str] = field(default_factory=dict)
    value_schema: str | None = None  # file name under schemas/

    @property
    def value_subject(self) -> str:
        """TopicNameStrategy: the registry subject of this topic's values."""
        return f"{self.name}-value"


_TOPIC_KEYS = {"role", "name", "partitions", "replication_factor", "config", "value_schema"}
_LEGAL_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")  # Kafka's own rule for topic names


def _count(entry: dict[str, Any], defaults: dict[str, Any], key: str, where: str) -> int:
    value = entry.get(key, defaults.get(key, 1))
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: '{key}' must be a positive integer, not {value!r}")
    return value


def _topic(entry: Any, defaults: dict[str, Any], source: str, index: int) -> TopicSpec:
    where = f"{source}: topics[{index}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping with role, name, ...; got {entry!r}")
    for key in ("role", "name"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ConfigError(f"{where}: '{key}' is required and must be a string")
    where = f"{where} ({entry['name']})"
    if not _LEGAL_NAME.match(entry["name"]):
        raise ConfigError(f"{where}: 'name' may only hold letters, digits, '.', '_' and '-' (at most 249)")
    unknown = set(entry) - _TOPIC_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(_TOPIC_KEYS)}")
    config = entry.get("config", {})
    if not isinstance(config, dict):
        raise ConfigError(f"{where}: 'config' must be a mapping of Kafka topic config keys to values")
    schema = entry.get("value_schema")
    if schema is not None and not isinstance(schema, str):
        raise ConfigError(f"{where}: 'value_schema' must be a file name under schemas/")
    return TopicSpec(
        role=entry["role"],
        name=entry["name"],
        partitions=_count(entry, defaults, "partitions", where),
        replication_factor=_count(entry, defaults, "replication_factor", where),
        config={k: str(v) for k, v in {**defaults.get("config", {}), **config}.items()},
        value_schema=schema,
    )


def parse_topics(document: Any, source: str) -> tuple[list[TopicSpec], list[str]]:
    """The topics a parsed topics.yaml declares, and every problem found (not just the first)."""
    defaults = document.get("defaults", {}) if isinstance(document, dict) else None
    if not isinstance(defaults, dict) or not isinstance(defaults.get("config", {}), dict):
        return [], [f"{source}: expected a mapping with 'defaults' (a mapping) and 'topics' (a list)"]
    entries = document.get("topics", [])
    if not isinstance(entries, list):
        return [], [f"{source}: 'topics' must be a list"]
    topics: list[TopicSpec] = []
    errors: list[str] = []
    for index, entry in enumerate(entries):
        try:
            topics.append(_topic(entry, defaults, source, index))
        except ConfigError as exc:
            errors.append(str(exc))
    for attribute in ("role", "name"):
        seen: set[str] = set()
        for topic in topics:
            value = getattr(topic, attribute)
            if value in seen:
                errors.append(f"{source}: {attribute} {value!r} is declared twice")
            seen.add(value)
    return topics, errors


def load_topics(path: Path) -> list[TopicSpec]:
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from exc
    topics, errors = parse_topics(document, str(path))
    if errors:
        raise ConfigError("; ".join(errors))
    return topics


@lru_cache(maxsize=4)
def _catalog(project_dir: Path) -> dict[str, TopicSpec]:
    return {t.role: t for t in load_topics(project_dir / "topics.yaml")}


def topics(project_dir: Path | None = None) -> list[TopicSpec]:
    return list(_catalog(project_dir or get_settings().project_dir).values())


def topic(role: str, project_dir: Path | None = None) -> TopicSpec:
    catalog = _catalog(project_dir or get_settings().project_dir)
    try:
        return catalog[role]
    except KeyError:
        raise ConfigError(f"topics.yaml: no topic with role {role!r}; roles: {', '.join(catalog)}") from None


def declares(role: str, project_dir: Path | None = None) -> bool:
    """Whether topics.yaml has a topic of that role (for the optional parts: alerting, the service catalog)."""
    return role in _catalog(project_dir or get_settings().project_dir)


def schema_text(file_name: str, project_dir: Path | None = None) -> str:
    """An .avsc file's text, checked to be JSON (the registry and fastavro parse it further)."""
    path = (project_dir or get_settings().project_dir) / "schemas" / file_name
    try:
        text = path.read_text()
        json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return text
