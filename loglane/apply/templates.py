"""OpenSearch index templates: opensearch/<name>.json is PUT as _index_template/<name> when it differs."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from loglane.apply import http
from loglane.apply.http import Endpoint
from loglane.apply.plan import Kind, Step, decide, diff_config
from loglane.settings import Settings

REQUIRED_KEYS = ("index_patterns", "template")


@dataclass(frozen=True)
class TemplateSpec:
    name: str  # the file stem
    file: str  # relative to the project, e.g. opensearch/logs-template.json
    body: dict[str, Any]


def load(project_dir: Path) -> tuple[list[TemplateSpec], list[str]]:
    """Every template file, and every problem found (each naming its file)."""
    found: list[TemplateSpec] = []
    errors: list[str] = []
    for path in sorted((project_dir / "opensearch").glob("*.json")):
        label = f"opensearch/{path.name}"
        try:
            body = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            errors.append(f"{label}: not valid JSON: {exc}")
            continue
        if not isinstance(body, dict):
            errors.append(f"{label}: expected an object with {', '.join(REQUIRED_KEYS)}")
            continue
        missing = [key for key in REQUIRED_KEYS if key not in body]
        if missing:
            errors.append(f"{label}: missing {', '.join(missing)} (an index template needs both)")
            continue
        found.append(TemplateSpec(path.stem, label, body))
    return found, errors


def _flatten(value: Any, prefix: str, into: dict[str, str]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(item, f"{prefix}{key}.", into)
    else:
        into[prefix.rstrip(".")] = value if isinstance(value, str) else json.dumps(value)


def normalize(body: dict[str, Any]) -> dict[str, str]:
    """A template as flat key -> value strings, the way OpenSearch stores it.

    Why: OpenSearch answers settings as strings under an "index." prefix and adds composed_of: [],
    so comparing the file with the stored template as written would always show a change."""
    flat: dict[str, str] = {}
    template = dict(body.get("template") or {})
    settings: dict[str, str] = {}
    _flatten(template.pop("settings", {}), "", settings)
    for key, value in settings.items():
        if key:
            flat[f"template.settings.{key if key.startswith('index.') else 'index.' + key}"] = value
    _flatten(template, "template.", flat)
    _flatten({k: v for k, v in body.items() if k != "template" and v != []}, "", flat)
    return {key: value for key, value in flat.items() if key not in ("", "template")}


def plan_template(spec: TemplateSpec, actual: dict[str, Any] | None) -> Step:
    """Pure: the step for one template, given what OpenSearch holds (None: missing)."""
    changes = diff_config(normalize(actual) if actual is not None else None, normalize(spec.body))
    return Step(Kind.TEMPLATE, spec.name, decide(actual is not None, changes), changes)


def stored(opensearch: Endpoint, name: str) -> dict[str, Any] | None:
    response = opensearch.call("GET", f"/_index_template/{name}")
    if response.status_code == 404:
        return None
    if not response.ok:
        raise opensearch.fail(response, f'template "{name}"')
    return dict(response.json()["index_templates"][0]["index_template"])


def _put(opensearch: Endpoint, spec: TemplateSpec) -> None:
    opensearch.json("PUT", f"/_index_template/{spec.name}", f'template "{spec.name}" ({spec.file})', json=spec.body)


def plan(settings: Settings, template_specs: list[TemplateSpec]) -> list[Step]:
    opensearch = http.opensearch(settings)
    return [
        replace(plan_template(spec, stored(opensearch, spec.name)), run=partial(_put, opensearch, spec))
        for spec in template_specs
    ]
