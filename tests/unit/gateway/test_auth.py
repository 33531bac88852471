"""Tenant tokens: the file format, hashed and plain tokens, and what each header gets."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from loglane.errors import ConfigError
from loglane.gateway.auth import TokenStore
from loglane.gateway.errors import Unauthorized


def sha(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    path = tmp_path / "tokens.yaml"
    path.write_text(
        f"shop:\n  - {sha('shop-1')}\n  - {sha('shop-2')}\n"
        f"ops:\n  tokens: [plain-ops-token]\n  rate_limit: 50\n  burst: 100\n"
    )
    return TokenStore.from_file(path)


def test_should_find_the_tenant_of_a_hashed_or_plain_token(store: TokenStore) -> None:
    assert store.authenticate("Bearer shop-2").tenant == "shop"
    ops = store.authenticate("bearer plain-ops-token")
    assert (ops.tenant, ops.rate_limit, ops.burst) == ("ops", 50.0, 100)
    assert store.tenants == ["ops", "shop"]


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (None, "missing credentials"),
        ("", "missing credentials"),
        ("Basic c2hvcDox", "must be 'Bearer <token>'"),
        ("Bearer", "must be 'Bearer <token>'"),
        ("Bearer shop-3", "unknown token"),
        (f"Bearer {sha('shop-1')}", "unknown token"),  # the stored hash is not a token
    ],
)
def test_should_refuse_missing_malformed_and_unknown_tokens(store: TokenStore, header: str | None, why: str) -> None:
    with pytest.raises(Unauthorized, match=why):
        store.authenticate(header)


def test_a_credential_is_named_without_its_token(store: TokenStore) -> None:
    credential = store.authenticate("Bearer shop-1")
    assert credential.key == hashlib.sha256(b"shop-1").hexdigest()[:12]
    assert "shop-1" not in repr(credential)


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ([], "expected a mapping"),
        ({}, "no tenant has a token"),
        ({"shop": []}, "non-empty list"),
        ({"shop": "tok"}, "non-empty list"),
        ({"bad tenant": ["t"]}, "a tenant name is"),
        ({"shop": ["sha256:abc"]}, "64 hex digits"),
        ({"shop": {"tokens": ["t"], "rate": 3}}, "unknown keys"),
        ({"shop": {"tokens": ["t"], "rate_limit": 0}}, "rate_limit"),
        ({"shop": ["same"], "ops": ["same"]}, "listed for both"),
    ],
)
def test_should_refuse_a_wrong_tokens_file_naming_the_problem(document: object, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        TokenStore.from_mapping(document)


def test_should_name_the_setting_when_the_file_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="LOGLANE_GATEWAY_TOKENS_FILE"):
        TokenStore.from_file(tmp_path / "absent.yaml")
