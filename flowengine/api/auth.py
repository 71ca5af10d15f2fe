"""Bearer-token authentication and roles for the management API.

Tokens come from a JSON object mapping each token, or `sha256:<hex>` of it, to a
role (`viewer` reads, `deployer` also deploys, updates, stops and starts, `admin`
may do everything, including delete). Only SHA-256 digests are kept in memory, and
a presented token is checked against every digest with `hmac.compare_digest`, so
neither the table nor the timing of a refusal gives a token away.

No tokens configured means the management API is closed (503 with a message that
says how to open it), never open: an engine started without thinking is not an
engine anyone on the network may deploy to.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Callable, Coroutine, Mapping
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from flowengine.api.errors import ApiError

TOKENS_FILE_ENV = "FLOWENGINE_TOKENS_FILE"
TOKENS_ENV = "FLOWENGINE_TOKENS"
_HEX64 = re.compile(r"[0-9a-f]{64}")
NO_TOKENS = "no tokens configured; start with --tokens FILE (or set FLOWENGINE_TOKENS_FILE)"


class Role(IntEnum):
    """Each role may do what the roles below it may."""

    viewer = 1
    deployer = 2
    admin = 3


class TokenConfigError(ValueError):
    """The tokens file or variable is unreadable or malformed; the server refuses to start."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Tokens:
    """The table of token digests and their roles."""

    def __init__(self, table: Mapping[str, str] | None = None, *, origin: str = "tokens") -> None:
        self._roles: dict[str, Role] = {}
        for key, role in (table or {}).items():
            if role not in Role.__members__:
                raise TokenConfigError(f"{origin}: role {role!r} is not one of {', '.join(Role.__members__)}")
            self._roles[self._digest_of(key, origin)] = Role[role]

    @staticmethod
    def _digest_of(key: str, origin: str) -> str:
        if not key.startswith("sha256:"):
            return digest(key)
        hexed = key.removeprefix("sha256:").lower()
        if not _HEX64.fullmatch(hexed):
            raise TokenConfigError(f"{origin}: 'sha256:' must be followed by 64 hex digits")
        return hexed

    @classmethod
    def from_json(cls, text: str | bytes, origin: str) -> Tokens:
        try:
            table = orjson.loads(text)
        except orjson.JSONDecodeError as err:
            raise TokenConfigError(f"{origin}: not valid JSON ({err})") from None
        if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
            raise TokenConfigError(f'{origin}: expected a JSON object {{"<token>": "<role>"}}')
        return cls(table, origin=origin)

    @classmethod
    def load(cls, path: Path | None, env: Mapping[str, str] = os.environ) -> Tokens:
        """From `path`, else the file named by FLOWENGINE_TOKENS_FILE, else the JSON in
        FLOWENGINE_TOKENS; an empty table when none is given."""
        path = path or (Path(env[TOKENS_FILE_ENV]) if env.get(TOKENS_FILE_ENV) else None)
        if path is not None:
            try:
                return cls.from_json(path.read_bytes(), str(path))
            except OSError as err:
                raise TokenConfigError(f"cannot read tokens file {path}: {err.strerror}") from None
        if env.get(TOKENS_ENV):
            return cls.from_json(env[TOKENS_ENV], TOKENS_ENV)
        return cls()

    def __len__(self) -> int:
        return len(self._roles)

    def role_of(self, token: str) -> Role | None:
        """The token's role; every digest is compared, so the time taken says nothing."""
        presented = digest(token)
        found: Role | None = None
        for known, role in self._roles.items():
            if hmac.compare_digest(presented, known):
                found = role
        return found


_bearer = HTTPBearer(auto_error=False, description="A token from the server's tokens file")


def require(needed: Role) -> Callable[..., Coroutine[Any, Any, Role]]:
    """A dependency that lets a request through only with a token of `needed` or above."""

    async def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Role:
        tokens: Tokens = request.app.state.tokens
        if not tokens:
            raise ApiError(503, "auth_not_configured", NO_TOKENS)
        if credentials is None:
            raise ApiError(401, "unauthorized", "a bearer token is required", headers={"www-authenticate": "Bearer"})
        role = tokens.role_of(credentials.credentials)
        if role is None:
            invalid = {"www-authenticate": 'Bearer error="invalid_token"'}
            raise ApiError(401, "unauthorized", "the token is not valid", headers=invalid)
        if role < needed:
            raise ApiError(403, "forbidden", f"role '{role.name}' may not do this; it needs '{needed.name}' or above")
        return role

    return check
