"""Schema checks without a registry: parse errors naming the field, Apicurio's causes as field names."""

import json
from typing import Any

from loglane.apply.plan import Action
from loglane.apply.schemas import (
    COMPATIBILITY,
    Incompatibility,
    SchemaSpec,
    SubjectState,
    apicurio_incompatibilities,
    field_at,
    parse_problems,
    plan_schema,
)

V1: dict[str, Any] = {
    "type": "record",
    "name": "Event",
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "level", "type": "string"},
        {
            "name": "exception",
            "type": ["null", {"type": "record", "name": "Exc", "fields": [{"name": "stack", "type": "string"}]}],
            "default": None,
        },
    ],
}
SPEC = SchemaSpec("logs.raw-value", "schemas/log_event.avsc", json.dumps(V1))


def with_field(**changes: object) -> dict[str, Any]:
    return {**V1, "fields": [{**f, **changes} if f["name"] == "level" else f for f in V1["fields"]]}


def test_parse_problems_name_the_file_and_field() -> None:
    assert parse_problems("schemas/e.avsc", V1) == []
    (unknown_type,) = parse_problems("schemas/e.avsc", with_field(type="strng"))
    assert unknown_type == "schemas/e.avsc: field \"level\": unknown type 'strng'"
    (bad_default,) = parse_problems("schemas/e.avsc", with_field(type="int", default="x"))
    assert bad_default.startswith('schemas/e.avsc: field "level": Default value <x>')


def test_union_default_must_match_the_first_branch() -> None:
    (problem,) = parse_problems("schemas/e.avsc", with_field(type=["string", "null"], default=None))
    assert problem == (
        "schemas/e.avsc: field \"level\": default None must match the union's first branch 'string'; "
        "put that branch first"
    )


def test_field_at_follows_a_pointer_into_nested_records() -> None:
    assert field_at(V1, "/fields/1/type") == "level"
    assert field_at(V1, "/fields/2/type/1/fields/0") == "exception.stack"
    assert field_at(V1, "/fields/9") is None


def test_apicurio_type_change_names_the_field_in_the_proposed_schema() -> None:
    why = "reader type: INT not compatible with writer type: STRING"
    body = {"causes": [{"description": why, "context": "/fields/1/type"}]}
    (found,) = apicurio_incompatibilities(body, json.dumps(with_field(type="int")), json.dumps(V1), COMPATIBILITY)
    assert found == Incompatibility(why, "level", "/fields/1/type")
    assert found.render(SPEC) == (
        'subject "logs.raw-value" (schemas/log_event.avsc): field "level" (/fields/1/type): '
        "reader type: INT not compatible with writer type: STRING"
    )


def test_apicurio_removed_field_is_named_from_the_registered_schema() -> None:
    # Removing "level" shifts "exception" to /fields/1 in the proposed schema; Apicurio's
    # description ("level") says which document the pointer is into.
    proposed = {**V1, "fields": [f for f in V1["fields"] if f["name"] != "level"]}
    body = {"causes": [{"description": "level", "context": "/fields/1"}]}
    (found,) = apicurio_incompatibilities(body, json.dumps(proposed), json.dumps(V1), "FULL_TRANSITIVE")
    assert found.field == "level"
    assert found.description == "not compatible under FULL_TRANSITIVE (a field added or removed needs a default)"


def test_new_subject_is_created_with_its_level() -> None:
    step = plan_schema(SPEC, SubjectState(None, None, None), [])
    assert step.action is Action.CREATE
    assert [c.render() for c in step.changes] == [
        "schema: schemas/log_event.avsc as version 1",
        f"compatibility: {COMPATIBILITY}",
    ]


def test_same_schema_written_differently_is_unchanged() -> None:
    registered = json.dumps(V1, indent=4, sort_keys=True)
    assert plan_schema(SPEC, SubjectState(3, registered, COMPATIBILITY), []).action is Action.UNCHANGED


def test_changed_schema_under_another_level_says_which_level_was_checked() -> None:
    step = plan_schema(SPEC, SubjectState(2, json.dumps(with_field(doc="new doc")), "NONE"), [])
    assert step.action is Action.UPDATE
    assert [c.render() for c in step.changes] == [
        "schema: version 2 -> schemas/log_event.avsc as a new version",
        f"compatibility: NONE -> {COMPATIBILITY}",
    ]
    assert step.notes == ("compatibility was checked under the subject's current level, NONE",)


def test_incompatible_schema_is_refused_naming_subject_and_field() -> None:
    problem = Incompatibility("reader type: INT not compatible with writer type: STRING", "level", "/fields/1/type")
    step = plan_schema(SPEC, SubjectState(1, json.dumps(with_field(type="int")), COMPATIBILITY), [problem])
    assert step.action is Action.REFUSED
    assert step.refusals == (problem.render(SPEC),)
