"""OpenSearch index templates: opensearch/<name>.json is PUT as _index_template/<name> when it differs.

A template only shapes indices created after it, so a changed mapping is also PUT on the indices that
exist already (today's daily index): under "dynamic": "strict" they would refuse every document with
a field the template just gained. OpenSearch adds new fields to them and refuses a changed type."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from loglane.apply import http
from loglane.apply.http import Endpoint
from loglane.apply.plan import Action, Kind, Step, decide, diff_config
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


def remaps(step: Step) -> bool:
    """Whether applying the step also changes the mappings of existing indices: an update of mappings."""
    return step.action is Action.UPDATE and any(c.key.startswith("template.mappings.") for c in step.changes)


def plan_template(spec: TemplateSpec, actual: dict[str, Any] | None) -> Step:
    """Pure: the step for one template, given what OpenSearch holds (None: missing)."""
    changes = diff_config(normalize(actual) if actual is not None else None, normalize(spec.body))
    step = Step(Kind.TEMPLATE, spec.name, decide(actual is not None, changes), changes)
    if remaps(step):
        patterns = ", ".join(spec.body["index_patterns"])
        return replace(step, notes=(f"existing indices matching {patterns} get the new mappings too",))
    return step


def stored(opensearch: Endpoint, name: str) -> dict[str, Any] | None:
    response = opensearch.call("GET", f"/_index_template/{name}")
    if response.status_code == 404:
        return None
    if not response.ok:
        raise opensearch.fail(response, f'template "{name}"')
    return dict(response.json()["index_templates"][0]["index_template"])


def _put(opensearch: Endpoint, spec: TemplateSpec, remap: bool) -> None:
    what = f'template "{spec.name}" ({spec.file})'
    opensearch.json("PUT", f"/_index_template/{spec.name}", what, json=spec.body)
    if remap:
        patterns = ",".join(spec.body["index_patterns"])
        opensearch.json("PUT", f"/{patterns}/_mapping", f"{what}: the mappings of existing indices {patterns}",
                        params={"allow_no_indices": "true"}, json=spec.body["template"]["mappings"])


def plan(settings: Settings, template_specs: list[TemplateSpec]) -> list[Step]:
    opensearch = http.opensearch(settings)
    steps = [(spec, plan_template(spec, stored(opensearch, spec.name))) for spec in template_specs]
    return [replace(step, run=partial(_put, opensearch, spec, remaps(step))) for spec, step in steps]
