"""rules/enrich.yaml and the enrich stage: region and cluster by environment, owner team and tier by
service; whatever is not listed gets nulls, never an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from loglane.errors import ConfigError
from loglane.services import Service
from loglane.settings import get_settings
from streams.rules import enrich as enrich_rules
from streams.stages.enrich import NO_SERVICES, enrich
from tests.unit.streams.records import log_event

RULES = enrich_rules.load(get_settings().project_dir)
CATALOG = {"checkout": Service("checkout", "shop", "tier-1"), "batch": Service("batch", "data")}


def test_an_event_gets_its_environments_place_and_its_services_owner_and_tier() -> None:
    event = enrich(log_event(service="checkout", environment="prod"), RULES, CATALOG)
    assert (event["region"], event["cluster"], event["owner_team"], event["tier"]) == (
        "eu-west-1", "prod-eu-1", "shop", "tier-1",
    )
    assert event["message"] == "order ord-1 created"  # the rest as it was


def test_an_unlisted_environment_or_service_gets_nulls_not_an_error() -> None:
    event = enrich(log_event(service="nobody-knows", environment="qa-7"), RULES, CATALOG)
    assert (event["region"], event["cluster"], event["owner_team"], event["tier"]) == (None, None, None, None)
    assert enrich(log_event(), RULES, NO_SERVICES)["owner_team"] is None
    assert enrich(log_event(service="batch"), RULES, CATALOG)["tier"] is None  # a service without a tier


def test_the_input_event_is_left_as_it_was() -> None:
    event = log_event()
    enrich(event, RULES, CATALOG)
    assert "region" not in event


def test_an_environment_may_name_only_a_region() -> None:
    rules = enrich_rules.from_mapping({"environments": {"edge": {"region": "ap-south-1"}}})
    event = enrich(log_event(environment="edge"), rules, {})
    assert (event["region"], event["cluster"]) == ("ap-south-1", None)


@pytest.mark.parametrize("document, problem", [
    ({"environments": {"prod": {}}}, "rules/enrich.yaml: environments.prod: names neither region nor cluster"),
    ({"environments": {"prod": {"region": "eu", "zone": "b"}}}, "rules/enrich.yaml: environments.prod.zone: unknown key"),
    ({"environments": {"prod": {"cluster": ""}}}, "rules/enrich.yaml: environments.prod.cluster: String should have at least 1 character"),
    ({"places": {}}, "rules/enrich.yaml: places: unknown key"),
])
def test_a_bad_file_names_the_file_and_the_field(document: dict[str, object], problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        enrich_rules.from_mapping(document)
    assert str(raised.value) == problem


def test_the_file_is_required_like_every_rule_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rules/enrich.yaml: no such file"):
        enrich_rules.load(tmp_path)
