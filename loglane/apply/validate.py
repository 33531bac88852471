"""`loglane validate`: layered checks, every error reported, each prefixed with what it is about.

Layers: parse, references (offline); reachability, Connect's own config validation (online).
A layer runs only when the layers before it passed, as in Vector's validate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loglane.apply import connectors, http, topics
from loglane.apply.project import Project, check
from loglane.errors import ExitCode, LoglaneError
from loglane.settings import Settings
from loglane.stack.components.connect import REQUIRED_PLUGINS


@dataclass(frozen=True)
class Layer:
    name: str
    errors: list[str] = field(default_factory=list)
    failure: ExitCode = ExitCode.INVALID_CONFIG  # the exit code its errors mean
    ran: bool = True
    summary: str = ""


def exit_code(layers: list[Layer]) -> ExitCode:
    """A configuration error outranks an unreachable service: it is what the user must fix."""
    failures = {layer.failure for layer in layers if layer.errors}
    if ExitCode.INVALID_CONFIG in failures:
        return ExitCode.INVALID_CONFIG
    return ExitCode.FAILED if failures else ExitCode.OK


def _summary(project: Project) -> str:
    return (
        f"{len(project.topics)} topics, {len(project.schemas)} schemas, "
        f"{len(project.templates)} templates, {len(project.connectors)} connectors"
        + (f", {len(project.rules)} alert rules" if project.rules else "")
        + (f", {len(project.services)} services" if project.services else "")
    )


def _reachability(settings: Settings) -> tuple[Layer, set[str] | None]:
    """Each service's answer (a wrong answer counts as none); Connect's installed plugins when it answered."""
    errors: list[str] = []
    plugins: set[str] | None = None
    probes: list[Callable[[], object]] = [
        lambda: topics.cluster_state(topics.admin_client(settings), settings, []),
        # A wrong answer most likely means a wrong URL: name the setting.
        lambda: http.registry(settings).json("GET", "/config", "LOGLANE_REGISTRY_URL"),
        lambda: http.opensearch(settings).json("GET", "/", "LOGLANE_OPENSEARCH_URL"),
    ]
    for probe in probes:
        try:
            probe()
        except LoglaneError as exc:
            errors.append(str(exc))
    try:
        plugins = connectors.installed_plugins(settings)
    except LoglaneError as exc:
        errors.append(str(exc))
    return Layer("reachability", errors, ExitCode.FAILED, summary="kafka, registry, connect, opensearch"), plugins


def _connect_layer(settings: Settings, project: Project, plugins: set[str]) -> Layer:
    errors: list[str] = []
    for spec in project.connectors:
        if spec.config["connector.class"] not in plugins:
            errors.append(
                f'{spec.label}: "connector.class": {spec.config["connector.class"]} is not installed in Connect; '
                f"installed: {', '.join(sorted(plugins))}"
            )
        else:
            errors.extend(connectors.connect_problems(settings, spec, project.topic_names))
    return Layer("connect", errors, summary=f"{len(project.connectors)} connector configs accepted")


def _stream_rules_layer(settings: Settings, directory: Path) -> Layer:
    """The stream worker's rule files (rules/pii.yaml, normalize.yaml, parse.yaml...) and their tests."""
    from streams import rules  # the stream's own loader: validate accepts exactly what the worker does

    checked = rules.check(directory, settings.pii_hmac_key)
    return Layer("stream rules", checked.problems, summary=f"{len(checked.files)} files, {checked.tests} tests pass")


def validate(settings: Settings, directory: Path, offline: bool) -> list[Layer]:
    # Offline, the class must be one loglane ships; online, Connect's plugin list decides.
    checked = check(directory, REQUIRED_PLUGINS if offline else None)
    layers = [
        Layer("parse", checked.parse_errors, summary=_summary(checked.project)),
        Layer("references", checked.reference_errors),
        _stream_rules_layer(settings, directory),
    ]
    if offline or checked.errors:
        return layers + [Layer("reachability", ran=False), Layer("connect", ran=False)]
    reachability, plugins = _reachability(settings)
    if plugins is None:
        return layers + [reachability, Layer("connect", ran=False)]
    return layers + [reachability, _connect_layer(settings, checked.project, plugins)]
