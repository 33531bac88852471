"""Errors of the stream worker. Bad input is never an exception here: stages return a Rejection,
which becomes a dead letter. Exceptions are for the worker's surroundings."""

from __future__ import annotations

from loglane.errors import LoglaneError


class StreamError(LoglaneError):
    """Base of the stream worker's errors."""
