"""Index templates compared the way OpenSearch stores them, so an applied template is unchanged."""

from typing import Any

from loglane.apply.plan import Action
from loglane.apply.templates import TemplateSpec, normalize, plan_template

FILE: dict[str, Any] = {
    "index_patterns": ["logs-*"],
    "priority": 100,
    "template": {
        "settings": {"number_of_shards": 1, "refresh_interval": "1s"},
        "mappings": {"dynamic": "strict", "properties": {"stack": {"type": "text", "index": False}}},
    },
}
# What GET _index_template answers for FILE: settings as strings under "index.", composed_of added.
STORED: dict[str, Any] = {
    "index_patterns": ["logs-*"],
    "template": {
        "settings": {"index": {"number_of_shards": "1", "refresh_interval": "1s"}},
        "mappings": {"dynamic": "strict", "properties": {"stack": {"index": False, "type": "text"}}},
    },
    "composed_of": [],
    "priority": 100,
}
SPEC = TemplateSpec("logs", "opensearch/logs.json", FILE)


def test_the_stored_form_of_a_file_normalizes_to_the_same_keys() -> None:
    assert normalize(FILE) == normalize(STORED)
    assert normalize(FILE)["template.settings.index.number_of_shards"] == "1"


def test_missing_template_is_created_and_a_stored_one_unchanged() -> None:
    assert plan_template(SPEC, None).action is Action.CREATE
    assert plan_template(SPEC, STORED).action is Action.UNCHANGED


def test_a_changed_setting_is_shown_by_its_path() -> None:
    settings = {"index": {"number_of_shards": "3", "refresh_interval": "1s"}}
    stored = {**STORED, "template": {**STORED["template"], "settings": settings}}
    step = plan_template(SPEC, stored)
    assert step.action is Action.UPDATE
    assert [c.render() for c in step.changes] == ["template.settings.index.number_of_shards: 3 -> 1"]


def test_a_changed_mapping_says_the_existing_indices_get_it_too() -> None:
    fewer = {"dynamic": "strict", "properties": {}}
    step = plan_template(SPEC, {**STORED, "template": {**STORED["template"], "mappings": fewer}})
    assert step.action is Action.UPDATE
    assert step.notes == ("existing indices matching logs-* get the new mappings too",)
    assert plan_template(SPEC, None).notes == ()  # a new template: no index has its mappings yet
