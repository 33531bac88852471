"""The project's declared names, read from topics.yaml and schemas/: code asks by role, never by literal."""

from __future__ import annotations

import json
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


def _topic(entry: dict[str, Any], defaults: dict[str, Any], source: Path, index: int) -> TopicSpec:
    where = f"{source}: topics[{index}]"
    for key in ("role", "name"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise ConfigError(f"{where}: '{key}' is required and must be a string")
    unknown = set(entry) - {"role", "name", "partitions", "replication_factor", "config", "value_schema"}
    if unknown:
        raise ConfigError(f"{where} ({entry['name']}): unknown keys {sorted(unknown)}")
    config = {**defaults.get("config", {}), **entry.get("config", {})}
    return TopicSpec(
        role=entry["role"],
        name=entry["name"],
        partitions=int(entry.get("partitions", defaults.get("partitions", 1))),
        replication_factor=int(entry.get("replication_factor", defaults.get("replication_factor", 1))),
        config={k: str(v) for k, v in config.items()},
        value_schema=entry.get("value_schema"),
    )


def load_topics(path: Path) -> list[TopicSpec]:
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from exc
    defaults = document.get("defaults", {})
    topics = [_topic(entry, defaults, path, n) for n, entry in enumerate(document.get("topics", []))]
    for attribute in ("role", "name"):
        seen: set[str] = set()
        for topic in topics:
            value = getattr(topic, attribute)
            if value in seen:
                raise ConfigError(f"{path}: {attribute} {value!r} is declared twice")
            seen.add(value)
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


def schema_text(file_name: str, project_dir: Path | None = None) -> str:
    """An .avsc file's text, checked to be JSON (the registry and fastavro parse it further)."""
    path = (project_dir or get_settings().project_dir) / "schemas" / file_name
    try:
        text = path.read_text()
        json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return text
