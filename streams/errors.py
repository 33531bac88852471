"""Errors of the stream worker. Bad input is never an exception here: stages return a Rejection,
which becomes a dead letter. Exceptions are for the worker's surroundings."""

from __future__ import annotations

from loglane.errors import LoglaneError


class StreamError(LoglaneError):
    """Base of the stream worker's errors."""


class RegistryUnavailable(StreamError):
    """The schema registry did not answer as needed. Transient by assumption: the agent retries the
    same record (at-least-once, never skipped) until the registry answers."""
