"""`loglane stack up | down | status`: start the components in dependency waves, stop what we started."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from loglane.errors import ConfigError
from loglane.settings import Settings
from loglane.stack.components import build_services
from loglane.stack.service import Health, Service, StackLayout, ensure_runtime_user


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    address: str
    state: str  # running | stopped | unhealthy
    detail: str
    log_path: str


class Stack:
    def __init__(
        self, settings: Settings, brokers: int | None = None, only: Sequence[str] | None = None
    ) -> None:
        self.settings = settings
        self._topology_file = settings.home / "stack" / "topology.json"
        self.brokers = brokers if brokers is not None else self._recorded_brokers()
        if self.brokers not in (1, 3):
            raise ConfigError(f"stack: --brokers must be 1 or 3, not {self.brokers}")
        self.layout = StackLayout(settings, self.brokers)
        self.services: list[Service] = build_services(self.layout)
        if only:
            self.services = self._with_dependencies(only)
        else:
            self.services = [s for s in self.services if not s.optional or s.pid() is not None]
        self.started_now: list[str] = []

    def _with_dependencies(self, names: Sequence[str]) -> list[Service]:
        """The named components (`kafka` names every node) and everything they depend on."""
        by_name = {s.name: s for s in self.services}
        wanted: set[str] = set()
        pending = [n for name in names for n in by_name if n == name or n.startswith(f"{name}-")]
        unknown = [name for name in names if not any(n == name or n.startswith(f"{name}-") for n in by_name)]
        if unknown:
            raise ConfigError(f"stack: no component named {', '.join(unknown)}; components: {', '.join(by_name)}")
        while pending:
            name = pending.pop()
            if name not in wanted:
                wanted.add(name)
                pending.extend(by_name[name].depends_on)
        return [s for s in self.services if s.name in wanted]

    def _recorded_brokers(self) -> int:
        try:
            return int(json.loads(self._topology_file.read_text())["brokers"])
        except (OSError, ValueError, KeyError):
            return 1

    def service(self, name: str) -> Service:
        for service in self.services:
            if service.name == name:
                return service
        names = ", ".join(s.name for s in self.services)
        raise ConfigError(f"stack: no component named {name!r}; components: {names}")

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(s.address for s in self.services if s.name.startswith("kafka"))

    def _waves(self) -> list[list[Service]]:
        """Groups that can start together: each wave only depends on earlier waves."""
        placed: set[str] = set()
        remaining = list(self.services)
        waves: list[list[Service]] = []
        while remaining:
            wave = [s for s in remaining if set(s.depends_on) <= placed]
            if not wave:
                raise ConfigError("stack: component dependencies form a cycle")
            waves.append(wave)
            placed |= {s.name for s in wave}
            remaining = [s for s in remaining if s not in wave]
        return waves

    def up(self) -> list[ComponentStatus]:
        recorded = self._recorded_brokers() if self._topology_file.exists() else None
        if recorded is not None and recorded != self.brokers and any(s.pid() for s in self.services):
            raise ConfigError(
                f"stack: it is running with {recorded} broker(s); `loglane stack down` before "
                f"starting it with {self.brokers}"
            )
        self.layout.state.mkdir(parents=True, exist_ok=True)
        self._topology_file.write_text(json.dumps({"brokers": self.brokers}))
        ensure_runtime_user()
        started: list[Service] = []
        try:
            for wave in self._waves():
                to_wait: list[Service] = []
                for service in wave:
                    if service.pid() is not None:
                        _say(f"{service.name}: already running (pid {service.pid()})")
                        to_wait.append(service)
                        continue
                    service.prepare()
                    _say(f"{service.name}: starting on {service.address}")
                    service.start()
                    started.append(service)
                    self.started_now.append(service.name)
                    to_wait.append(service)
                for service in to_wait:
                    began = time.monotonic()
                    health = service.wait_ready()
                    _say(f"{service.name}: ready in {time.monotonic() - began:.1f}s ({health.detail})")
        except BaseException:  # a failed start, Ctrl-C or a bug: leave nothing half-started behind
            for service in reversed(started):
                _say(f"{service.name}: stopping (start-up of the stack failed)")
                service.stop()
            raise
        return self.status()

    def down(self, only: Sequence[str] | None = None) -> list[str]:
        """Stop what this stack started (every component, or just the names given)."""
        stopped = []
        for wave in reversed(self._waves()):
            for service in reversed(wave):
                if only is not None and service.name not in only:
                    continue
                if service.stop():
                    _say(f"{service.name}: stopped")
                    stopped.append(service.name)
        return stopped

    def status(self) -> list[ComponentStatus]:
        result = []
        for service in self.services:
            pid = service.pid()
            health = service.probe() if pid is not None else Health(False, "not running")
            if pid is None:
                state = "stopped"
            else:
                state = "running" if health.ok else "unhealthy"
            detail = f"pid {pid}, {health.detail}" if pid is not None else health.detail
            result.append(ComponentStatus(service.name, service.address, state, detail, str(service.log_path)))
        return result


def _say(message: str) -> None:
    sys.stderr.write(f"stack: {message}\n")
