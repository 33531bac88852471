"""Enrich: where the event ran and who owns its service, as four top-level fields of the processed
event (one SQL column, one OpenSearch keyword each): region and cluster of its environment
(rules/enrich.yaml), owner_team and tier of its service (the service catalog). Not in attributes:
those are the producer's to write and are masked; these come from reference data only. An
environment or service not listed gets nulls: enrichment never refuses an event."""

from __future__ import annotations

from types import MappingProxyType
from typing import Protocol

from loglane.services import Service
from streams.rules.enrich import EnrichRules
from streams.stages.types import LogEvent

FIELDS = ("region", "cluster", "owner_team", "tier")


class ServiceLookup(Protocol):
    """The service catalog by name: a dict in tests, `loglane parse` and the benchmark; in the worker,
    streams.tables.TableServices over the table that follows the catalog topic."""

    def get(self, name: str, /) -> Service | None: ...


NO_SERVICES: ServiceLookup = MappingProxyType({})  # no catalog: no event gets an owner_team or tier


def enrich(event: LogEvent, rules: EnrichRules, services: ServiceLookup) -> LogEvent:
    place = rules.environments.get(event["environment"])
    service = services.get(event["service"])
    return {
        **event,
        "region": place.region if place else None,
        "cluster": place.cluster if place else None,
        "owner_team": service.owner_team if service else None,
        "tier": service.tier if service else None,
    }
