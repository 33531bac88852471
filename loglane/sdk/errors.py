"""Errors the SDK raises at set-up time. emit() never raises: its problems become stats and warnings."""

from __future__ import annotations

from loglane.errors import ConfigError, LoglaneError


class SdkError(LoglaneError):
    """The logging SDK could not be set up (producer, registry client, spool)."""


class SdkConfigError(SdkError, ConfigError):
    """A handler argument or setting is wrong; the message names it and the fix."""


class SpoolError(SdkError):
    """The spool directory or one of its files cannot be used (permissions, disk, corruption)."""


class SpoolFull(SpoolError):
    """Appending would take the spool past its byte limit."""


class InvalidEvent(SdkError, ValueError):
    """An event that can never be serialized (it does not fit the LogEvent schema): dropped and counted.

    A serializer raises it for the event's own faults; any other exception means "not now" (the
    registry is unreachable) and the event is kept for later.
    """
