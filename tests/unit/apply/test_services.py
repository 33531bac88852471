"""The service catalog as plan steps, on the same code as alert rules: create, update (each changed
field), unchanged, delete (a tombstone); and a catalog needs a topic to hold it."""

from __future__ import annotations

import json

from loglane.apply.plan import Action, Change, Kind, Plan
from loglane.apply.records import SERVICES
from loglane.services import Service

CHECKOUT = Service("checkout", "shop", "tier-1")


def test_a_service_not_in_the_topic_is_created() -> None:
    step = SERVICES.plan_item(CHECKOUT, None)
    assert (step.kind, step.action, step.title) == (Kind.SERVICE, Action.CREATE, "service checkout")
    assert Change("owner_team", None, '"shop"') in step.changes


def test_a_new_owner_team_is_an_update_of_that_field_and_an_equal_service_nothing() -> None:
    moved = Service("checkout", "payments", "tier-1")
    step = SERVICES.plan_item(moved, CHECKOUT.to_bytes())
    assert step.action is Action.UPDATE
    assert step.changes == (Change("owner_team", '"shop"', '"payments"'),)
    assert SERVICES.plan_item(CHECKOUT, json.dumps(CHECKOUT.to_json(), indent=2).encode()).action is Action.UNCHANGED


def test_a_service_only_in_the_topic_is_deleted_with_a_tombstone() -> None:
    step = SERVICES.plan_removed("retired")
    assert (step.action, step.title) == (Action.DELETE, "service retired")
    assert step.notes == ("not in services.yaml: a tombstone removes it from every worker",)
    assert Plan.of([step]).render()[0] == "- delete service retired"


def test_services_after_alert_rules_in_the_plan() -> None:
    assert Kind.SERVICE > Kind.RULE


def test_a_catalog_without_a_topic_role_to_hold_it_is_a_reference_problem() -> None:
    assert SERVICES.reference_problems([CHECKOUT], {"raw", "processed"}) == [
        "services.yaml: no topic has role 'service-catalog' in topics.yaml to hold the services"
    ]
    assert SERVICES.reference_problems([CHECKOUT], {"service-catalog"}) == []
    assert SERVICES.reference_problems([], set()) == []
