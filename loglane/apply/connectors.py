"""Kafka Connect connectors: connectors/<name>.json rendered and PUT as /connectors/<name>/config.

Placeholders in values: ${setting:NAME} (a Settings field or property; unset renders as ""),
${secret:NAME} (a SecretStr setting: masked in every plan, revealed only when sent) and
${topic:ROLE} (the name topics.yaml gives that role). Anything else, e.g. Connect's own
${file:...} config providers, is left as written."""

from __future__ import annotations

import json
import re
import types
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Union, get_args, get_origin
from urllib.parse import quote

from pydantic import SecretStr

from loglane.apply import http
from loglane.apply.http import Endpoint
from loglane.apply.plan import MASK, Kind, Step, decide, diff_config
from loglane.settings import Settings

PLACEHOLDER = re.compile(r"\$\{(setting|secret|topic):([^}]*)\}")
RUNNING = "RUNNING"


@dataclass(frozen=True)
class ConnectorSpec:
    name: str  # the file stem
    config: dict[str, str]  # as written, placeholders unresolved

    @property
    def label(self) -> str:
        return f'connector "{self.name}"'

    @property
    def secret_keys(self) -> frozenset[str]:
        return frozenset(k for k, v in self.config.items() if "${secret:" in v)


def load(project_dir: Path) -> tuple[list[ConnectorSpec], list[str]]:
    """Every connector file, and every problem found, each prefixed with the connector's name."""
    found: list[ConnectorSpec] = []
    errors: list[str] = []
    for path in sorted((project_dir / "connectors").glob("*.json")):
        label = f'connector "{path.stem}"'
        try:
            config = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            errors.append(f"{label}: connectors/{path.name} is not valid JSON: {exc}")
            continue
        if not isinstance(config, dict):
            errors.append(f"{label}: connectors/{path.name} must be an object of config keys to string values")
            continue
        problems = [
            f'{label}: "{key}": must be a string (Connect configs are strings), not {value!r}'
            for key, value in config.items()
            if not isinstance(value, str)
        ]
        if "connector.class" not in config:
            problems.append(f'{label}: "connector.class" is required')
        if config.get("name", path.stem) != path.stem:
            problems.append(f'{label}: "name" is {config["name"]!r}; drop it, the file name is the connector name')
        errors.extend(problems)
        if not problems:
            found.append(ConnectorSpec(path.stem, {k: v for k, v in config.items() if k != "name"}))
    return found, errors


def _is_secret_field(name: str) -> bool:
    annotation = Settings.model_fields[name].annotation
    if get_origin(annotation) in (Union, types.UnionType):
        return SecretStr in get_args(annotation)
    return annotation is SecretStr


def setting_names() -> set[str]:
    properties = {n for n in dir(Settings) if isinstance(getattr(Settings, n, None), property)}
    return set(Settings.model_fields) | properties


def reference_problems(spec: ConnectorSpec, topics: Mapping[str, str], plugins: Collection[str] | None) -> list[str]:
    """Offline: placeholders that name nothing, and (when plugins is given) an unknown class."""
    names = setting_names()
    problems: list[str] = []
    for key, value in spec.config.items():
        for kind, name in PLACEHOLDER.findall(value):
            where = f'{spec.label}: "{key}": ${{{kind}:{name}}}'
            if kind == "topic" and name not in topics:
                problems.append(f"{where}: no topic has role {name!r} in topics.yaml; roles: {', '.join(topics)}")
            elif kind != "topic" and name not in names:
                problems.append(f"{where}: not a loglane setting; settings: {', '.join(sorted(names))}")
            elif kind == "setting" and name in Settings.model_fields and _is_secret_field(name):
                problems.append(f"{where}: {name} is a secret; write ${{secret:{name}}} so plans mask it")
            elif kind == "secret" and not (name in Settings.model_fields and _is_secret_field(name)):
                problems.append(f"{where}: {name} is not a secret setting; write ${{setting:{name}}}")
    connector_class = spec.config["connector.class"]
    if plugins is not None and connector_class not in plugins:
        problems.append(
            f'{spec.label}: "connector.class": {connector_class} is not a known plugin; '
            f"known: {', '.join(sorted(plugins))}"
        )
    return problems


def render(spec: ConnectorSpec, settings: Settings, topics: Mapping[str, str], reveal: bool) -> dict[str, str]:
    """The config with placeholders resolved; secrets as **** unless reveal (only when sending)."""

    def resolve(match: re.Match[str]) -> str:
        kind, name = match.group(1), match.group(2)
        if kind == "topic":
            return topics[name]
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            return value.get_secret_value() if reveal else MASK
        return "" if value is None else str(value)

    return {key: PLACEHOLDER.sub(resolve, value) for key, value in spec.config.items()}


def scrub(text: str, spec: ConnectorSpec, revealed: Mapping[str, str]) -> str:
    """text with every secret value of this connector replaced by ****."""
    for key in spec.secret_keys:
        if revealed[key]:
            text = text.replace(revealed[key], MASK)
    return text


def plan_connector(spec: ConnectorSpec, desired: Mapping[str, str], actual: Mapping[str, str] | None) -> Step:
    """Pure: the step for one connector; desired is the revealed config (compared, never shown)."""
    current = None if actual is None else {k: v for k, v in actual.items() if k != "name"}
    changes = diff_config(current, desired, spec.secret_keys)
    return Step(Kind.CONNECTOR, spec.name, decide(actual is not None, changes), changes)


def _put(connect: Endpoint, spec: ConnectorSpec, config: dict[str, str]) -> None:
    response = connect.call("PUT", f"/connectors/{quote(spec.name, safe='')}/config", json=config)
    if not response.ok:
        raise connect.fail(response, spec.label)


def plan(settings: Settings, specs: list[ConnectorSpec], topics: Mapping[str, str]) -> list[Step]:
    connect = http.connect(settings)
    steps: list[Step] = []
    for spec in specs:
        response = connect.call("GET", f"/connectors/{quote(spec.name, safe='')}/config")
        if not response.ok and response.status_code != 404:
            raise connect.fail(response, spec.label)
        desired = render(spec, settings, topics, reveal=True)
        step = plan_connector(spec, desired, response.json() if response.ok else None)
        steps.append(replace(step, run=partial(_put, connect, spec, desired)))
    return steps


def installed_plugins(settings: Settings) -> set[str]:
    plugins = http.connect(settings).json("GET", "/connector-plugins", "connector plugins")
    return {p["class"] for p in plugins}


def connect_problems(settings: Settings, spec: ConnectorSpec, topics: Mapping[str, str]) -> list[str]:
    """Connect's own verdict on the rendered config, one line per key and error, secrets scrubbed."""
    connect = http.connect(settings)
    revealed = render(spec, settings, topics, reveal=True)
    connector_class = quote(spec.config["connector.class"], safe="")
    body = {**revealed, "name": spec.name}  # Connect validates the name too
    answer = connect.json("PUT", f"/connector-plugins/{connector_class}/config/validate", spec.label, json=body)
    return [
        scrub(f'{spec.label}: "{item["value"]["name"]}": {error}', spec, revealed)
        for item in answer.get("configs", [])
        for error in item["value"].get("errors", [])
    ]


@dataclass(frozen=True)
class ConnectorStatus:
    name: str
    state: str  # Connect's state, or MISSING when Connect does not know the connector
    trace: str | None
    tasks: tuple[tuple[int, str, str | None], ...]  # (id, state, trace)

    @property
    def healthy(self) -> bool:
        return self.state == RUNNING and bool(self.tasks) and all(state == RUNNING for _, state, _ in self.tasks)


def parse_status(name: str, body: dict[str, Any] | None) -> ConnectorStatus:
    if body is None:
        return ConnectorStatus(name, "MISSING", None, ())
    tasks = tuple((int(t["id"]), str(t["state"]), t.get("trace")) for t in body.get("tasks", []))
    return ConnectorStatus(name, body["connector"]["state"], body["connector"].get("trace"), tasks)


def statuses(settings: Settings, specs: list[ConnectorSpec]) -> list[ConnectorStatus]:
    connect = http.connect(settings)
    found: list[ConnectorStatus] = []
    for spec in specs:
        response = connect.call("GET", f"/connectors/{quote(spec.name, safe='')}/status")
        if not response.ok and response.status_code != 404:
            raise connect.fail(response, spec.label)
        found.append(parse_status(spec.name, response.json() if response.ok else None))
    return found
