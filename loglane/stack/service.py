"""What every local-stack component shares: a layout on disk, a supervised process, a health probe.

A component subclasses `Service` and says how to prepare (download, write config), how to launch
and how to probe; starting, pid files, readiness waits, stopping and log tails live here once.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from loglane.errors import ComponentError
from loglane.settings import Settings

RUNTIME_USER = "loglane"  # servers that refuse root (OpenSearch, PostgreSQL) run as this user


@dataclass(frozen=True)
class Health:
    ok: bool
    detail: str


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None


@dataclass(frozen=True)
class StackLayout:
    """Where the stack keeps things: cache/ (downloads, unpacked distributions) and stack/ (state)."""

    settings: Settings
    brokers: int = 1

    @property
    def home(self) -> Path:
        return self.settings.home

    @property
    def cache(self) -> Path:
        return self.home / "cache"

    @property
    def state(self) -> Path:
        return self.home / "stack"

    @property
    def maven_log(self) -> Path:
        return self.cache / "maven.log"


def running_as_root() -> bool:
    return os.geteuid() == 0


def ensure_runtime_user() -> None:
    """Create the unprivileged system user the root-refusing servers run as (root only)."""
    if not running_as_root():
        return
    if subprocess.run(["id", "-u", RUNTIME_USER], capture_output=True).returncode == 0:
        return
    subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", RUNTIME_USER],
        check=True,
        capture_output=True,
    )


def chown_to_runtime_user(*paths: Path) -> None:
    if not running_as_root():
        return
    for path in paths:
        subprocess.run(["chown", "-R", f"{RUNTIME_USER}:{RUNTIME_USER}", str(path)], check=True)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 20) -> str:
    try:
        with path.open(errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines))
    except OSError:
        return ""


def _process_start_time(pid: int) -> str | None:
    """The kernel's start time of pid, so a recycled pid is never mistaken for ours."""
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own exited child
    except ChildProcessError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Fields after the command name (which may contain spaces): state, ..., starttime (22nd).
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


class Service(ABC):
    """One supervised server process of the local stack."""

    name: str
    depends_on: tuple[str, ...] = ()
    start_timeout: float = 120.0
    stop_signal: int = signal.SIGTERM
    stop_timeout: float = 60.0
    runs_as_runtime_user: bool = False  # True for servers that refuse to run as root
    optional: bool = False  # started only when named (`--only`); listed and stopped while running

    def __init__(self, layout: StackLayout) -> None:
        self.layout = layout
        self.settings = layout.settings

    # -- what a component says -------------------------------------------------------------
    @property
    @abstractmethod
    def address(self) -> str: ...

    @property
    def ports(self) -> list[int]:
        """Ports this component binds; checked free before a start."""
        return []

    def prepare(self) -> None:
        """Download and configure; idempotent and quiet when nothing is to do."""

    @abstractmethod
    def launch(self) -> Launch: ...

    @abstractmethod
    def probe(self) -> Health: ...

    def after_ready(self) -> None:
        """One-off set-up once the server answers (databases, buckets); idempotent."""

    # -- layout ----------------------------------------------------------------------------
    @property
    def dir(self) -> Path:
        return self.layout.state / self.name

    @property
    def log_path(self) -> Path:
        return self.dir / "logs" / f"{self.name}.log"

    @property
    def pid_path(self) -> Path:
        return self.dir / "pid"

    # -- process supervision ---------------------------------------------------------------
    def pid(self) -> int | None:
        """The pid of the process this stack started, if it is still that process."""
        try:
            pid_text, started = self.pid_path.read_text().split()
            pid = int(pid_text)
        except (OSError, ValueError):
            return None
        return pid if _process_start_time(pid) == started else None

    def start(self) -> None:
        for port in self.ports:
            if port_open("127.0.0.1", port):
                raise ComponentError(
                    self.name,
                    f"port {port} is already in use by a process this stack did not start; "
                    "stop it, or configure another port (see README: pointing loglane elsewhere)",
                    str(self.log_path),
                )
        launch = self.launch()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self.runs_as_runtime_user:
            chown_to_runtime_user(self.dir)
        as_user = RUNTIME_USER if self.runs_as_runtime_user and running_as_root() else None
        with self.log_path.open("ab") as log:
            log.write(f"\n=== loglane: starting {self.name}: {' '.join(launch.argv)}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                launch.argv,
                cwd=launch.cwd,
                env={**os.environ, **launch.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stop() signals exactly it
                user=as_user,
                group=as_user,
                extra_groups=[] if as_user else None,
            )
        started = _process_start_time(proc.pid)
        self.pid_path.write_text(f"{proc.pid} {started}\n")

    def wait_ready(self) -> Health:
        deadline = time.monotonic() + self.start_timeout
        health = Health(False, "not probed yet")
        while time.monotonic() < deadline:
            if self.pid() is None:
                raise ComponentError(
                    self.name,
                    f"exited during start-up; last lines of its log:\n{tail(self.log_path)}",
                    str(self.log_path),
                )
            health = self.probe()
            if health.ok:
                self.after_ready()
                return health
            time.sleep(0.5)
        raise ComponentError(
            self.name,
            f"not ready after {self.start_timeout:.0f}s ({health.detail})",
            str(self.log_path),
        )

    def stop(self) -> bool:
        """Stop the process this stack started; False when there was none."""
        pid = self.pid()
        if pid is None:
            self.pid_path.unlink(missing_ok=True)
            return False
        try:
            os.killpg(pid, self.stop_signal)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + self.stop_timeout
        while time.monotonic() < deadline and self.pid() is not None:
            time.sleep(0.2)
        if self.pid() is not None:
            os.killpg(pid, signal.SIGKILL)
            while self.pid() is not None:
                time.sleep(0.1)
        self.pid_path.unlink(missing_ok=True)
        return True
