"""Per-tenant bearer tokens, read from the tokens file (LOGLANE_GATEWAY_TOKENS_FILE).

The file maps each tenant to its tokens, preferably as SHA-256 hashes so the file holds no secret:

    shop:                       # tenant: list of tokens
      - sha256:3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea
    ops:                        # or a mapping, with this tenant's own rate limit per token
      tokens: [sha256:...]
      rate_limit: 200           # events/s per token (default LOGLANE_GATEWAY_RATE_LIMIT)
      burst: 1000               # default LOGLANE_GATEWAY_RATE_BURST

An entry without the `sha256:` prefix is a plain token (hashed on load; a warning says to store
the hash: `printf %s "$TOKEN" | sha256sum`). A presented token is hashed and compared with every
known hash by hmac.compare_digest, without stopping at a match, so the answer takes the same time
whichever token (if any) matches. Tokens are never logged; a credential is named by `key`, the
first 12 hex digits of its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from loglane.errors import ConfigError
from loglane.gateway.errors import Unauthorized

__all__ = ["Credential", "TokenStore", "hash_token"]

log = logging.getLogger(__name__)

_HASHED = re.compile(r"sha256:([0-9a-fA-F]{64})")
_TENANT = re.compile(r"[A-Za-z0-9._-]{1,128}")
_TENANT_KEYS = {"tokens", "rate_limit", "burst"}


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Credential:
    tenant: str
    digest: bytes
    rate_limit: float | None = None  # None: the gateway's default
    burst: int | None = None

    @property
    def key(self) -> str:
        """A name for this credential in logs and rate limiting; not enough to recover the token."""
        return self.digest.hex()[:12]


class TokenStore:
    def __init__(self, credentials: list[Credential]) -> None:
        if not credentials:
            raise ConfigError("gateway tokens: no tenant has a token, so every request would get 401")
        self._credentials = list(credentials)

    @property
    def tenants(self) -> list[str]:
        return sorted({c.tenant for c in self._credentials})

    @classmethod
    def from_file(cls, path: Path) -> TokenStore:
        try:
            document = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(
                f"gateway tokens file {path}: cannot read it: {exc}; is LOGLANE_GATEWAY_TOKENS_FILE right?"
            ) from exc
        return cls.from_mapping(document, str(path))

    @classmethod
    def from_mapping(cls, document: Any, source: str = "tokens") -> TokenStore:
        if not isinstance(document, Mapping):
            raise ConfigError(f"gateway tokens file {source}: expected a mapping of tenant: [sha256:<hex>, ...]")
        credentials: list[Credential] = []
        owners: dict[bytes, str] = {}
        for tenant, entry in document.items():
            where = f"gateway tokens file {source}: tenant {tenant!r}"
            if not isinstance(tenant, str) or not _TENANT.fullmatch(tenant):
                raise ConfigError(f"{where}: a tenant name is 1-128 letters, digits, '.', '_' or '-'")
            rate_limit, burst = None, None
            if isinstance(entry, Mapping):
                unknown = set(entry) - _TENANT_KEYS
                if unknown:
                    raise ConfigError(f"{where}: unknown keys {sorted(unknown)}; known: {sorted(_TENANT_KEYS)}")
                rate_limit, burst = entry.get("rate_limit"), entry.get("burst")
                if rate_limit is not None and (isinstance(rate_limit, bool) or not isinstance(rate_limit, (int, float)) or rate_limit <= 0):
                    raise ConfigError(f"{where}: rate_limit is events per second, a positive number")
                if burst is not None and (isinstance(burst, bool) or not isinstance(burst, int) or burst < 1):
                    raise ConfigError(f"{where}: burst is a positive whole number of events")
                entry = entry.get("tokens")
            if not isinstance(entry, list) or not entry:
                raise ConfigError(f"{where}: expected a non-empty list of tokens (sha256:<64 hex> or plain)")
            for token in entry:
                if not isinstance(token, str) or not token.strip():
                    raise ConfigError(f"{where}: every token is a non-empty string")
                hashed = _HASHED.fullmatch(token.strip())
                if hashed:
                    digest = bytes.fromhex(hashed.group(1))
                elif token.startswith("sha256:"):
                    raise ConfigError(f"{where}: 'sha256:' must be followed by 64 hex digits")
                else:
                    digest = hash_token(token)
                    log.warning("%s: a plain token is stored; store its hash instead: sha256:%s", where, digest.hex())
                if owners.setdefault(digest, tenant) != tenant:
                    raise ConfigError(f"{where}: a token is listed for both {owners[digest]!r} and {tenant!r}")
                credentials.append(Credential(tenant, digest, float(rate_limit) if rate_limit else None, burst))
        return cls(credentials)

    def authenticate(self, authorization: str | None) -> Credential:
        """The credential whose token `authorization` ("Bearer <token>") carries; Unauthorized otherwise."""
        if not authorization:
            raise Unauthorized("missing credentials: send Authorization: Bearer <token>")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("the Authorization header must be 'Bearer <token>'")
        presented = hash_token(token)
        found: Credential | None = None
        for credential in self._credentials:  # no early exit: the same work for every token
            if hmac.compare_digest(presented, credential.digest):
                found = credential
        if found is None:
            raise Unauthorized("unknown token")
        return found
