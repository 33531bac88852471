"""rules/pii.yaml: which recognizers run on which tenant's fields, and what they do with a find.

Resolution for a tenant's field, later layers overriding earlier ones key by key:
built-in defaults (every recognizer on with ``defaults.action``, except ipv4 and ipv6, off) ->
``defaults.recognizers`` -> ``tenants.<t>.recognizers`` -> ``defaults.fields.<glob>`` (each matching
glob, in file order) -> ``tenants.<t>.fields.<glob>``. Fields are ``message``,
``exception.message``, ``exception.stack`` and ``attributes.<key>`` (globs: ``attributes.*_ip``)."""

from __future__ import annotations

import fnmatch
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, SecretStr

from loglane.errors import ConfigError
from streams.rules.files import RuleModel, label, load_model
from streams.stages.mask import Action, FieldPolicy, Pseudonyms, mask_text
from streams.stages.recognizers import DEFAULT_SECRET_KEYS, NAMES, builtin, is_secret_key

FILE = "pii.yaml"
OFF_BY_DEFAULT = frozenset({"ipv4", "ipv6"})
SECRET_RECOGNIZER = "secret"
FIXED_FIELDS = ("message", "exception.message", "exception.stack")
KEY_SETTING = "LOGLANE_PII_HMAC_KEY"


class RecognizerRule(RuleModel):
    enabled: bool | None = None
    action: Action | None = None


def _known_recognizer(name: str) -> str:
    if name not in NAMES:
        raise ValueError(f"unknown recognizer; known: {', '.join(NAMES)}")
    return name


def _known_field(glob: str) -> str:
    if glob not in FIXED_FIELDS and not (glob.startswith("attributes.") and len(glob) > len("attributes.")):
        raise ValueError(f"no such field; fields are {', '.join(FIXED_FIELDS)} and attributes.<key> (globs allowed)")
    return glob


RecognizerName = Annotated[str, AfterValidator(_known_recognizer)]
FieldGlob = Annotated[str, AfterValidator(_known_field)]


class FieldRule(RuleModel):
    scan: bool | None = Field(None, description="false: never look for PII in this field")
    value: Action | None = Field(None, description="the whole value is PII: mask, hmac or drop it")
    kind: str | None = Field(None, description="the token of a whole value (default: the attribute's key)")
    recognizers: dict[RecognizerName, RecognizerRule] = Field(default_factory=dict)


class Scope(RuleModel):
    recognizers: dict[RecognizerName, RecognizerRule] = Field(default_factory=dict)
    fields: dict[FieldGlob, FieldRule] = Field(default_factory=dict)


class Defaults(Scope):
    action: Action = Action.MASK


class PiiTest(RuleModel):
    """A check `loglane validate` runs: input masked for tenant and field must give output."""

    input: str
    output: str
    tenant: str = "default"
    field: FieldGlob = "message"


class PiiFile(RuleModel):
    secret_keys: list[str] = Field(default_factory=lambda: list(DEFAULT_SECRET_KEYS), min_length=1)
    defaults: Defaults = Field(default_factory=Defaults)
    tenants: dict[str, Scope] = Field(default_factory=dict)
    tests: list[PiiTest] = Field(default_factory=list)

    def hmac_uses(self) -> list[str]:
        """Where the file asks for the hmac action (dotted paths), for the missing-key error."""
        uses = []
        scopes: list[tuple[str, Scope]] = [("defaults", self.defaults)]
        scopes += [(f"tenants.{name}", scope) for name, scope in self.tenants.items()]
        if self.defaults.action is Action.HMAC:
            uses.append("defaults.action")
        for where, scope in scopes:
            for name, rule in scope.recognizers.items():
                if rule.action is Action.HMAC:
                    uses.append(f"{where}.recognizers.{name}.action")
            for glob, field in scope.fields.items():
                if field.value is Action.HMAC:
                    uses.append(f"{where}.fields.{glob}.value")
                for name, rule in field.recognizers.items():
                    if rule.action is Action.HMAC:
                        uses.append(f"{where}.fields.{glob}.recognizers.{name}.action")
        return uses


class PiiRules:
    """The compiled rules: streams.stages.mask's Policy."""

    def __init__(self, document: PiiFile, pseudonyms: Pseudonyms | None) -> None:
        self.document = document
        self._pseudonyms = pseudonyms
        self._recognizers = builtin(document.secret_keys)
        self._names_secret = lru_cache(maxsize=4096)(is_secret_key(document.secret_keys))  # attribute keys repeat
        self.for_field = lru_cache(maxsize=16_384)(self._resolve)  # attribute keys repeat

    @property
    def pseudonyms(self) -> Pseudonyms | None:
        return self._pseudonyms

    def _matching(self, scope: Scope | None, field: str) -> list[FieldRule]:
        if scope is None:
            return []
        return [rule for glob, rule in scope.fields.items() if fnmatch.fnmatchcase(field, glob)]

    def _resolve(self, tenant: str, field: str, /) -> FieldPolicy:
        defaults = self.document.defaults
        own = self.document.tenants.get(tenant)
        enabled = {name: name not in OFF_BY_DEFAULT for name in NAMES}
        actions = {name: defaults.action for name in NAMES}
        field_rules = self._matching(defaults, field) + self._matching(own, field)
        layers = [defaults.recognizers, own.recognizers if own else {}] + [rule.recognizers for rule in field_rules]
        for layer in layers:
            for name, rule in layer.items():
                if rule.enabled is not None:
                    enabled[name] = rule.enabled
                if rule.action is not None:
                    actions[name] = rule.action
        scan, whole, kind = True, None, field.removeprefix("attributes.")
        for rule in field_rules:
            scan = rule.scan if rule.scan is not None else scan
            whole = rule.value if rule.value is not None else whole
            kind = rule.kind or kind
        secrets = (self._names_secret, actions[SECRET_RECOGNIZER]) if enabled[SECRET_RECOGNIZER] else None
        return FieldPolicy(
            recognizers=tuple((r, actions[r.name]) for r in self._recognizers if enabled[r.name]),
            scan=scan,
            whole=whole,
            whole_kind=kind,
            secret_keys=secrets if field.startswith("attributes.") else None,
        )

    def test_failures(self) -> list[str]:
        """The file's own tests that do not hold, one line each."""
        failures = []
        for index, test in enumerate(self.document.tests):
            try:
                got, _ = mask_text(test.input, self.for_field(test.tenant, test.field), test.tenant, self._pseudonyms)
            except ValueError as exc:
                failures.append(f"{label(FILE)}: tests[{index}]: {exc}")
                continue
            if got != test.output:
                failures.append(f"{label(FILE)}: tests[{index}]: {test.input!r} gave {got!r}, expected {test.output!r}")
        return failures


def compile_rules(document: PiiFile, key: SecretStr | None) -> PiiRules:
    """The rules with their pseudonym key; a ConfigError when the file asks for hmac without one."""
    uses = document.hmac_uses()
    secret = key.get_secret_value() if key is not None else ""
    if uses and not secret:
        raise ConfigError(
            "\n".join(f"{label(FILE)}: {where}: hmac needs a key; set {KEY_SETTING}" for where in uses)
        )
    return PiiRules(document, Pseudonyms(secret.encode()) if secret else None)


def load(project_dir: Path, key: SecretStr | None) -> PiiRules:
    return compile_rules(load_model(project_dir, FILE, PiiFile), key)


def from_mapping(document: dict[str, Any], key: SecretStr | None = None) -> PiiRules:
    """Rules from a mapping shaped like the file (tests)."""
    return compile_rules(PiiFile.model_validate(document), key)
