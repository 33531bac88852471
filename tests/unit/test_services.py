"""services.yaml: parsed into Services, every problem named by file and field; the stored JSON round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from loglane.errors import ConfigError
from loglane.services import Service, load_services, parse_services, read_catalog
from loglane.settings import get_settings


def parse(text: str) -> tuple[list[Service], list[str]]:
    return parse_services(yaml.safe_load(text))


def test_the_projects_own_catalog_is_valid_and_names_the_sample_services() -> None:
    services, errors = load_services(get_settings().project_dir)
    assert errors == []
    assert {s.name for s in services} == {"gateway", "checkout", "inventory", "payments", "notifications"}


def test_services_keep_file_order_and_tier_is_optional() -> None:
    services, errors = parse("""
services:
  checkout: {owner_team: shop, tier: tier-1}
  batch: {owner_team: data}
""")
    assert errors == []
    assert services == [Service("checkout", "shop", "tier-1"), Service("batch", "data", None)]


def test_every_problem_is_named_by_file_and_field() -> None:
    _, errors = parse("""
services:
  checkout: {tier: tier-1}
  pay ments: {owner_team: payments}
  inventory: {owner_team: stock, tier: 2, team: x}
""")
    assert errors == [
        "services.yaml: services.checkout.owner_team: Field required",
        "services.yaml: services.pay ments: String should match pattern '^[A-Za-z0-9][A-Za-z0-9._-]*$'",
        "services.yaml: services.inventory.tier: Input should be a valid string",
        "services.yaml: services.inventory.team: unknown key",
    ]
    assert parse("[checkout]")[1] == ["services.yaml: expected a mapping with 'services', not list"]


def test_no_file_is_no_services_and_a_bad_one_is_a_config_error(tmp_path: Path) -> None:
    assert load_services(tmp_path) == ([], [])
    assert read_catalog(tmp_path) == {}
    (tmp_path / "services.yaml").write_text("services: {checkout: {}}\n")
    with pytest.raises(ConfigError, match="services.checkout.owner_team: Field required"):
        read_catalog(tmp_path)


def test_the_stored_json_round_trips_and_a_foreign_version_is_refused() -> None:
    service = Service("checkout", "shop", "tier-1")
    assert Service.from_bytes(service.to_bytes()) == service
    assert Service.from_bytes(Service("batch", "data").to_bytes()).tier is None
    with pytest.raises(ValueError, match="service format version 2"):
        Service.from_bytes(b'{"version": 2, "name": "checkout", "owner_team": "shop", "tier": null}')
