"""rules/routing.yaml: besides `processed`, the topics (by role) an event also goes to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from loglane.catalog import TopicSpec
from streams.rules.files import RuleModel, label, load_model
from streams.rules.match import Match, Matcher

FILE = "routing.yaml"
SCHEMA = "processed_log_event.avsc"  # a route's topic holds processed events


class Route(RuleModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    match: Match
    to: str = Field(description="a topic role of topics.yaml whose value_schema is processed_log_event.avsc")


class RoutingFile(RuleModel):
    routes: list[Route] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> RoutingFile:
        names = [route.name for route in self.routes]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"route name(s) used twice: {', '.join(twice)}")
        return self


class RoutingRules:
    def __init__(self, document: RoutingFile) -> None:
        self.document = document
        self._routes = [(route, Matcher(route.match)) for route in document.routes]

    @property
    def roles(self) -> list[str]:
        """Every role a route sends to, once, in file order."""
        return list(dict.fromkeys(route.to for route in self.document.routes))

    def roles_for(self, event: dict[str, Any]) -> list[str]:
        """The roles this event also goes to, once each, in file order."""
        return list(dict.fromkeys(route.to for route, matches in self._routes if matches(event)))

    def reference_problems(self, topics: list[TopicSpec]) -> list[str]:
        """Routes to roles topics.yaml lacks, or whose topic holds something else."""
        by_role = {topic.role: topic for topic in topics}
        problems = []
        for index, route in enumerate(self.document.routes):
            topic = by_role.get(route.to)
            where = f"{label(FILE)}: routes[{index}] ({route.name}).to"
            if topic is None:
                problems.append(f"{where}: no topic has role {route.to!r} in topics.yaml")
            elif topic.value_schema != SCHEMA:
                problems.append(f"{where}: topic {topic.name} holds {topic.value_schema}, not {SCHEMA}")
        return problems


def load(project_dir: Path) -> RoutingRules:
    return RoutingRules(load_model(project_dir, FILE, RoutingFile))


def from_mapping(document: dict[str, Any]) -> RoutingRules:
    return RoutingRules(RoutingFile.model_validate(document))
