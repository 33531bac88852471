"""One error hierarchy and one exit-code scheme for every loglane command."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the command ran and something it checked or did failed
    UNEXPECTED = 2  # a bug or an environment we did not foresee
    CHANGES_PENDING = 3  # only `plan --detailed-exitcode`: the plan has changes to apply
    INVALID_CONFIG = 78  # EX_CONFIG: a settings or declarative file is wrong


class LoglaneError(Exception):
    """Base of every error loglane raises on purpose; its message names the thing and the fix."""

    exit_code: ExitCode = ExitCode.FAILED


class ConfigError(LoglaneError):
    exit_code = ExitCode.INVALID_CONFIG


class ComponentError(LoglaneError):
    """A local-stack component failed: which one, why, and where its log is."""

    def __init__(self, component: str, why: str, log_path: str | None = None) -> None:
        self.component = component
        self.why = why
        self.log_path = log_path
        where = f" (log: {log_path})" if log_path else ""
        super().__init__(f"{component}: {why}{where}")


class UnreachableError(LoglaneError):
    """A service loglane talks to (Kafka, registry, Connect, OpenSearch) did not answer."""

    def __init__(self, service: str, address: str, why: str, setting: str) -> None:
        self.service = service
        self.address = address
        super().__init__(
            f"{service}: cannot reach {address}: {why}; is the stack up (`loglane stack up`), "
            f"or is {setting} right?"
        )
