"""Value schemas: schemas/*.avsc registered under each topic's TopicNameStrategy subject.

A changed schema becomes a new version only when the registry says old and new are compatible
under the subject's level; an incompatible change is refused, naming the subject and the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastavro.schema import SchemaParseException, UnknownType, parse_schema
from fastavro.validation import validate

from loglane.apply import http
from loglane.apply.http import Endpoint
from loglane.apply.plan import Change, Kind, Step, decide
from loglane.catalog import TopicSpec
from loglane.settings import Settings

# Log events are written by many services deploying on their own schedules and read by the stream,
# the sinks and, from the S3 archive, by whatever reads history later. FULL keeps old and new
# readers and writers compatible in both directions (deploy in any order); TRANSITIVE against
# every version, not just the latest, because the archive holds all of them.
COMPATIBILITY = "FULL_TRANSITIVE"


@dataclass(frozen=True)
class SchemaSpec:
    subject: str
    file: str  # relative to the project, e.g. schemas/log_event.avsc
    text: str
    level: str = COMPATIBILITY


@dataclass(frozen=True)
class SubjectState:
    version: int | None  # None: the subject has no version yet
    schema: str | None
    level: str | None  # None: the subject has no level of its own


@dataclass(frozen=True)
class Incompatibility:
    description: str
    field: str | None = None
    pointer: str | None = None

    def render(self, spec: SchemaSpec) -> str:
        where = f'subject "{spec.subject}" ({spec.file})'
        if self.field is None:
            return f"{where}: {self.description}"
        pointer = f" ({self.pointer})" if self.pointer else ""
        return f'{where}: field "{self.field}"{pointer}: {self.description}'


def _record_fields(schema: Any, prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every field of every record in schema, as (dotted path, field), records in unions included."""
    if isinstance(schema, list):
        for branch in schema:
            yield from _record_fields(branch, prefix)
    elif isinstance(schema, dict):
        if schema.get("type") == "record" and isinstance(schema.get("fields"), list):
            for field in schema["fields"]:
                if isinstance(field, dict):
                    path = f"{prefix}{field.get('name')}"
                    yield path, field
                    yield from _record_fields(field.get("type"), f"{path}.")
        else:
            yield from _record_fields(schema.get("items") or schema.get("values"), prefix)


_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
# What fastavro raises for a malformed schema (it has no single base class for them).
_PARSE_ERRORS = (SchemaParseException, ValueError, TypeError, KeyError, AttributeError)


def _union_default_problem(field: dict[str, Any]) -> str | None:
    # fastavro accepts any branch; Java readers (the registry, Connect) want the first one.
    branches = field.get("type")
    if not isinstance(branches, list) or "default" not in field or not branches:
        return None
    first = branches[0]
    if isinstance(first, str) and first in _PRIMITIVES and not validate(field["default"], first, raise_errors=False):
        return f"default {field['default']!r} must match the union's first branch {first!r}; put that branch first"
    return None


def parse_problems(label: str, document: Any) -> list[str]:
    """Offline: why the registry would refuse this schema, naming the field where one is to blame."""
    try:
        parse_schema(document)
    except _PARSE_ERRORS as exc:
        return [f"{label}: {_blame(document, exc)}"]
    return [
        f'{label}: field "{path}": {problem}'
        for path, field in _record_fields(document)
        if (problem := _union_default_problem(field))
    ]


def _blame(document: Any, exc: Exception) -> str:
    """exc, prefixed with the first top-level field whose addition makes the schema fail to parse."""
    # fastavro's UnknownType message is the bare type name.
    why = f"unknown type {exc.name!r}" if isinstance(exc, UnknownType) else str(exc)
    fields = document.get("fields") if isinstance(document, dict) else None
    if isinstance(fields, list):
        for n, field in enumerate(fields):
            try:
                parse_schema({**document, "fields": fields[: n + 1]})
            except _PARSE_ERRORS:
                name = field.get("name") if isinstance(field, dict) else None
                return f'field "{name}": {why}' if name else f"fields[{n}]: {why}"
    return why


def specs(project_dir: Path, topics: list[TopicSpec]) -> list[SchemaSpec]:
    return [
        SchemaSpec(t.value_subject, f"schemas/{t.value_schema}", (project_dir / "schemas" / t.value_schema).read_text())
        for t in topics
        if t.value_schema
    ]


def same_schema(a: str, b: str) -> bool:
    """Equal as JSON: formatting and key order are not changes, docs and defaults are."""
    return bool(json.loads(a) == json.loads(b))


def field_at(document: Any, pointer: str) -> str | None:
    """The dotted field name a JSON pointer into a schema ends in, e.g. /fields/10/type/1/fields/0."""
    node = document
    names: list[str] = []
    parts = [p for p in pointer.split("/") if p]
    for n, part in enumerate(parts):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            if n > 0 and parts[n - 1] == "fields" and isinstance(node, dict):
                names.append(str(node.get("name")))
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return ".".join(names) or None


def apicurio_incompatibilities(
    body: dict[str, Any], proposed: str, registered: str | None, level: str
) -> list[Incompatibility]:
    """Apicurio's 409 causes ({description, context: JSON pointer}) as named fields.

    The pointer is into the reader's schema: the proposed one for a changed or added field, the
    registered one for a removed field, whose name Apicurio gives as the description."""
    documents = [json.loads(proposed)] + ([json.loads(registered)] if registered else [])
    found: list[Incompatibility] = []
    for cause in body.get("causes") or [{"description": body.get("detail", "incompatible")}]:
        description, pointer = str(cause.get("description", "")), cause.get("context")
        candidates = [f for f in (field_at(d, pointer) for d in documents) if f] if pointer else []
        named = [f for f in candidates if f.split(".")[-1] == description]
        field = next(iter(named + candidates), None)
        if field is not None and field.split(".")[-1] == description:
            description = f"not compatible under {level} (a field added or removed needs a default)"
        found.append(Incompatibility(description, field, pointer))
    return found


def subject_state(registry: Endpoint, subject: str) -> SubjectState:
    path = quote(subject, safe="")
    latest = registry.call("GET", f"/subjects/{path}/versions/latest")
    if latest.status_code != 404 and not latest.ok:
        raise registry.fail(latest, f'subject "{subject}"')
    config = registry.call("GET", f"/config/{path}")
    if config.status_code != 404 and not config.ok:
        raise registry.fail(config, f'subject "{subject}"')
    version = latest.json() if latest.ok else {}
    return SubjectState(
        version=version.get("version"),
        schema=version.get("schema"),
        level=config.json().get("compatibilityLevel") if config.ok else None,
    )


def check(settings: Settings, spec: SchemaSpec, registered: str | None) -> list[Incompatibility]:
    """What the registry finds incompatible in spec against the subject's versions (none if new)."""
    subject = quote(spec.subject, safe="")
    if http.is_apicurio(settings):
        # Apicurio's ccompat check only says is_compatible: false; a dry-run create names the field.
        native = http.apicurio(settings)
        response = native.call(
            "POST",
            f"/groups/default/artifacts/{subject}/versions",
            params={"dryRun": "true"},
            json={"content": {"content": spec.text, "contentType": "application/json"}},
        )
        if response.status_code == 409:
            return apicurio_incompatibilities(response.json(), spec.text, registered, spec.level)
        if response.ok or response.status_code == 404:
            return []
        raise native.fail(response, f'subject "{spec.subject}"')
    registry = http.registry(settings)
    response = registry.call(
        "POST", f"/compatibility/subjects/{subject}/versions", params={"verbose": "true"}, json={"schema": spec.text}
    )
    if response.status_code == 404:
        return []
    if not response.ok:
        raise registry.fail(response, f'subject "{spec.subject}"')
    answer = response.json()
    if answer.get("is_compatible", True):
        return []
    messages = answer.get("messages") or ["not compatible under the subject's level (the registry names no field)"]
    return [Incompatibility(str(message)) for message in messages]


def plan_schema(spec: SchemaSpec, state: SubjectState, problems: list[Incompatibility]) -> Step:
    """Pure: the step for one subject, given its registry state and the compatibility verdict."""
    changes: list[Change] = []
    notes: list[str] = []
    if state.schema is None:
        changes.append(Change("schema", None, f"{spec.file} as version 1"))
    elif not same_schema(state.schema, spec.text):
        changes.append(Change("schema", f"version {state.version}", f"{spec.file} as a new version"))
        if state.level != spec.level:
            notes.append(f"compatibility was checked under the subject's current level, {state.level}")
    if state.level != spec.level:
        changes.append(Change("compatibility", state.level, spec.level))
    refusals = tuple(p.render(spec) for p in problems)
    return Step(Kind.SCHEMA, spec.subject, decide(state.version is not None, tuple(changes), refusals),
                tuple(changes), tuple(notes), refusals)


def _apply(registry: Endpoint, spec: SchemaSpec, step: Step) -> None:
    subject = quote(spec.subject, safe="")
    keys = {c.key for c in step.changes}
    # The level first, so the registry itself enforces it on the version registered next.
    if "compatibility" in keys:
        registry.json("PUT", f"/config/{subject}", f'subject "{spec.subject}"', json={"compatibility": spec.level})
    if "schema" in keys:
        registry.json("POST", f"/subjects/{subject}/versions", f'subject "{spec.subject}"', json={"schema": spec.text})


def plan(settings: Settings, schema_specs: list[SchemaSpec]) -> list[Step]:
    registry = http.registry(settings)
    steps: list[Step] = []
    for spec in schema_specs:
        state = subject_state(registry, spec.subject)
        changed = state.schema is not None and not same_schema(state.schema, spec.text)
        problems = check(settings, spec, state.schema) if changed else []
        step = plan_schema(spec, state, problems)
        steps.append(replace(step, run=partial(_apply, registry, spec, step)))
    return steps


Verdict = tuple[SchemaSpec, str, list[Incompatibility]]


def check_tree(settings: Settings, schema_specs: list[SchemaSpec]) -> list[Verdict]:
    """Per subject: a verdict line and what is incompatible (empty when the working tree is fine)."""
    registry = http.registry(settings)
    verdicts: list[Verdict] = []
    for spec in schema_specs:
        state = subject_state(registry, spec.subject)
        if state.schema is None:
            verdicts.append((spec, "not registered yet", []))
        elif same_schema(state.schema, spec.text):
            verdicts.append((spec, f"same as version {state.version}", []))
        else:
            problems = check(settings, spec, state.schema)
            level = state.level or "the registry's default level"
            verdict = "INCOMPATIBLE" if problems else f"compatible with the registered versions under {level}"
            verdicts.append((spec, verdict, problems))
    return verdicts
