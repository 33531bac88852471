"""The plan model shared by every resource kind: what would change, shown before anything does."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum

MASK = "****"


class Kind(IntEnum):
    """Resource kinds in dependency order: connectors need their topics, subjects and templates;
    alert rules and services are records in a topic."""

    TOPIC = 1
    SCHEMA = 2
    TEMPLATE = 3
    CONNECTOR = 4
    RULE = 5
    SERVICE = 6

    @property
    def label(self) -> str:
        return self.name.lower()


class Action(Enum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    REFUSED = "refused"  # declared, but it cannot (partitions down) or must not (incompatible) be applied
    DELETE = "delete"  # only alert rules and services: removed from the file, so a tombstone in their topic

    @property
    def symbol(self) -> str:
        return {"create": "+", "update": "~", "unchanged": "=", "refused": "!", "delete": "-"}[self.value]


@dataclass(frozen=True)
class Change:
    key: str
    old: str | None  # None: absent before
    new: str | None  # None: removed

    def render(self) -> str:
        old, new = _shown(self.old), _shown(self.new)
        if self.old is None:
            return f"{self.key}: {new}"
        if self.new is None:
            return f"{self.key}: {old} -> (removed)"
        return f"{self.key}: {old} -> {new}"


def _shown(value: str | None) -> str | None:
    return '""' if value == "" else value  # an empty value, visibly


@dataclass(frozen=True)
class Step:
    kind: Kind
    name: str
    action: Action
    changes: tuple[Change, ...] = ()
    notes: tuple[str, ...] = ()
    refusals: tuple[str, ...] = ()
    # What apply calls for this step; planning leaves it unset, each kind module attaches it.
    run: Callable[[], None] | None = field(default=None, compare=False, repr=False)

    @property
    def title(self) -> str:
        return f"{self.kind.label} {self.name}"


def diff_config(
    old: Mapping[str, str] | None, new: Mapping[str, str], secret_keys: Iterable[str] = ()
) -> tuple[Change, ...]:
    """Per-key changes from old to new (old None: everything is new), secret values masked."""
    secrets = set(secret_keys)

    def shown(key: str, value: str | None) -> str | None:
        return MASK if value is not None and key in secrets else value

    before = old or {}
    keys = sorted(set(before) | set(new))
    return tuple(
        Change(key, shown(key, before.get(key)), shown(key, new.get(key)))
        for key in keys
        if before.get(key) != new.get(key)
    )


def decide(exists: bool, changes: tuple[Change, ...], refusals: tuple[str, ...] = ()) -> Action:
    if refusals:
        return Action.REFUSED
    if not exists:
        return Action.CREATE
    return Action.UPDATE if changes else Action.UNCHANGED


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]

    @classmethod
    def of(cls, steps: Iterable[Step]) -> Plan:
        # Stable sort: the kinds' dependency order, each kind's own order (file order) kept.
        return cls(tuple(sorted(steps, key=lambda s: s.kind)))

    def count(self, action: Action) -> int:
        return sum(1 for s in self.steps if s.action is action)

    @property
    def pending(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.action in (Action.CREATE, Action.UPDATE, Action.DELETE))

    @property
    def refused(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.action is Action.REFUSED)

    def summary(self) -> str:
        deletes = self.count(Action.DELETE)
        return (
            f"Plan: {self.count(Action.CREATE)} to create, {self.count(Action.UPDATE)} to update, "
            + (f"{deletes} to delete, " if deletes else "")
            + f"{self.count(Action.UNCHANGED)} unchanged, {self.count(Action.REFUSED)} refused."
        )

    def render(self) -> list[str]:
        lines: list[str] = []
        for step in self.steps:
            lines.append(f"{step.action.symbol} {step.action.value} {step.title}")
            lines.extend(f"    {change.render()}" for change in step.changes)
            lines.extend(f"    note: {note}" for note in step.notes)
            lines.extend(f"    refused: {why}" for why in step.refusals)
        lines.append(self.summary())
        return lines
