"""Reading a rule file: YAML into a pydantic model, every problem reported as
``rules/<file>: <dotted.path>: <what is wrong>``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from loglane.errors import ConfigError

RULES_DIR = "rules"
M = TypeVar("M", bound=BaseModel)



def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {exc}") from exc
    return value


# A pattern checked when the rule file loads, so a bad one names its file and field.
Regex = Annotated[str, AfterValidator(_regex)]

class RuleModel(BaseModel):
    """Base of every rule-file model: frozen, and an unknown key is an error, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def label(file_name: str) -> str:
    """How messages name a rule file: relative to the project, e.g. rules/pii.yaml."""
    return f"{RULES_DIR}/{file_name}"


def path_of(project_dir: Path, file_name: str) -> Path:
    return project_dir / RULES_DIR / file_name


def _where(loc: tuple[int | str, ...]) -> str:
    where = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for an error in a mapping's key: the path names it
            continue
        if isinstance(part, int):
            where += f"[{part}]"
        else:
            where += f".{part}" if where else str(part)
    return where or "(top level)"


def problems_of(file_label: str, exc: ValidationError) -> list[str]:
    """One line per pydantic error: the file, the dotted path to the field, the message."""
    lines = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{file_label}: {_where(tuple(error['loc']))}: {message}")
    return lines


def read_document(project_dir: Path, file_name: str) -> Any:
    path = path_of(project_dir, file_name)
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{label(file_name)}: no such file in {project_dir}; the stream needs it") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{label(file_name)}: cannot read it: {exc}") from exc


def load_model(project_dir: Path, file_name: str, model: type[M]) -> M:
    """The file as `model`, or a ConfigError listing every problem found."""
    document = read_document(project_dir, file_name)
    return parse_model(document, file_name, model)


def parse_model(document: Any, file_name: str, model: type[M]) -> M:
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError(f"{label(file_name)}: expected a mapping at the top level, not {type(document).__name__}")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise ConfigError("\n".join(problems_of(label(file_name), exc))) from exc
