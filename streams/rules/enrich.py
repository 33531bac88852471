"""rules/enrich.yaml: where each environment runs (region, cluster), which the enrich stage adds to
its events. An environment not listed gets neither: not an error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from streams.rules.files import RuleModel, load_model, parse_model

FILE = "enrich.yaml"


class Place(RuleModel):
    region: str | None = Field(None, min_length=1)
    cluster: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _something(self) -> Place:
        if self.region is None and self.cluster is None:
            raise ValueError("names neither region nor cluster")
        return self


class EnrichRules(RuleModel):
    environments: dict[str, Place] = Field(default_factory=dict)


def load(project_dir: Path) -> EnrichRules:
    return load_model(project_dir, FILE, EnrichRules)


def from_mapping(document: dict[str, Any]) -> EnrichRules:
    return parse_model(document, FILE, EnrichRules)
