"""Everything as code: topics, schemas, index templates, connectors, alert rules and the service catalog,
planned then applied.

`apply` is `plan` plus doing: both call make_plan; execute only runs the steps it returned."""

from __future__ import annotations

from collections.abc import Callable

from loglane.apply import connectors, schemas, templates, topics
from loglane.apply.plan import Plan, Step
from loglane.apply.project import Project
from loglane.apply.records import ALERT_RULES, SERVICES
from loglane.errors import LoglaneError
from loglane.settings import Settings

__all__ = ["Plan", "Project", "Refused", "execute", "make_plan"]


class Refused(LoglaneError):
    """The plan holds a change that cannot or must not be made; nothing was applied."""


def make_plan(settings: Settings, project: Project) -> Plan:
    """What apply would do, in dependency order; reads every service, changes none."""
    return Plan.of(
        [
            *topics.plan(settings, project.topics),
            *schemas.plan(settings, project.schemas),
            *templates.plan(settings, project.templates),
            *connectors.plan(settings, project.connectors, project.topic_names),
            *ALERT_RULES.plan(settings, project.rules, project.topic_names.get(ALERT_RULES.role)),
            *SERVICES.plan(settings, project.services, project.topic_names.get(SERVICES.role)),
        ]
    )


def execute(plan: Plan, done: Callable[[Step], None]) -> None:
    """Run the pending steps in order, calling done after each; refuse all if any step is refused."""
    if plan.refused:
        names = ", ".join(step.title for step in plan.refused)
        raise Refused(f"refused, nothing was applied: {names} (see the refused lines above)")
    for step in plan.pending:
        assert step.run is not None, f"{step.title}: planned without a run"  # a bug in a kind module
        step.run()
        done(step)
