"""The service catalog: services.yaml, each service's owner team and tier.

`loglane apply` writes one record per service to the compacted topic of role service-catalog (key =
the name, value = the service as JSON); the stream worker follows that topic and its enrich stage
copies the event's service's owner team and tier onto the processed event."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, StringConstraints, ValidationError

from loglane.errors import ConfigError
from streams.rules.files import RuleModel, problems_of

SERVICES_FILE = "services.yaml"
CATALOG_ROLE = "service-catalog"
FORMAT_VERSION = 1  # of the JSON a service is stored as


@dataclass(frozen=True)
class Service:
    name: str
    owner_team: str
    tier: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The form stored in the catalog topic (and compared by `loglane plan`)."""
        return {"version": FORMAT_VERSION, "name": self.name, "owner_team": self.owner_team, "tier": self.tier}

    def to_bytes(self) -> bytes:
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, value: bytes) -> Service:
        """A service from its stored JSON; raises ValueError (or KeyError, TypeError) when it is not one."""
        data = json.loads(value)
        if data.get("version") != FORMAT_VERSION:
            raise ValueError(f"service format version {data.get('version')!r}; this loglane reads {FORMAT_VERSION}")
        tier = data["tier"]
        return cls(str(data["name"]), str(data["owner_team"]), None if tier is None else str(tier))


class _Entry(RuleModel):
    owner_team: str = Field(min_length=1)
    tier: str | None = Field(None, min_length=1)


# As events carry it; a name with a space or a slash is a typo that would never match an event.
_Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class _File(RuleModel):
    services: dict[_Name, _Entry] = Field(default_factory=dict)


def parse_services(document: Any, source: str = SERVICES_FILE) -> tuple[list[Service], list[str]]:
    """The services a parsed services.yaml declares, in file order, and every problem found."""
    if document is None:
        return [], []
    if not isinstance(document, dict):
        return [], [f"{source}: expected a mapping with 'services', not {type(document).__name__}"]
    try:
        parsed = _File.model_validate(document)
    except ValidationError as exc:
        return [], problems_of(source, exc)
    return [Service(name, entry.owner_team, entry.tier) for name, entry in parsed.services.items()], []


def load_services(project_dir: Path) -> tuple[list[Service], list[str]]:
    """services.yaml of the project (no file: no services), and every problem in it."""
    path = project_dir / SERVICES_FILE
    if not path.exists():
        return [], []
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        return [], [f"{SERVICES_FILE}: cannot read it: {exc}"]
    return parse_services(document)


def read_catalog(project_dir: Path) -> Mapping[str, Service]:
    """The declared catalog by name, for what reads the file rather than the topic (`loglane parse`,
    the benchmark); a ConfigError naming every problem."""
    services, errors = load_services(project_dir)
    if errors:
        raise ConfigError("the service catalog is not valid (run `loglane validate`):\n  " + "\n  ".join(errors))
    return {service.name: service for service in services}
