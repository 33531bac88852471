"""Route: the topic roles a processed event goes to besides `processed` (rules/routing.yaml):
ERROR and FATAL events to `alert-candidates`."""

from __future__ import annotations

from streams.rules.routing import RoutingRules
from streams.stages.types import ProcessedLogEvent


def route(event: ProcessedLogEvent, rules: RoutingRules) -> list[str]:
    return rules.roles_for(event)
