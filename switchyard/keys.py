"""Virtual keys: who is calling, what they may use, and how fast.

Keys are compared by SHA-256 (they are long random strings, so a fast hash is
safe) and never stored or logged in clear. Keys come from the config (values in
environment variables) and from the store (`switchyard keys create`)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import time
from dataclasses import dataclass

from .config.schema import LoadedConfig
from .errors import Forbidden, NotFound, RateLimited, Unauthorized
from .store.base import KeyRecord, Store

log = logging.getLogger("switchyard")

_POSITIVE_TTL_S = 10.0  # how long a key read from the store is trusted before re-reading (revocation delay)
_NEGATIVE_TTL_S = 2.0
_CACHE_MAX = 10_000


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return "sk-sy-" + secrets.token_urlsafe(32)


@dataclass(slots=True)
class Principal:
    name: str
    team: str | None = None
    models: frozenset[str] | None = None  # None: every alias
    rpm: int | None = None
    admin: bool = False
    privacy: str | None = None  # per-key overrides of the privacy action, sensitivity and logging policy
    sensitivity: str | None = None
    logging: str | None = None

    def may_use(self, alias: str) -> bool:
        return self.models is None or alias in self.models

    def check_alias(self, alias: str, known: bool) -> None:
        if not known:
            raise NotFound(f"The model '{alias}' does not exist")
        if not self.may_use(alias):
            raise Forbidden(f"This key may not use the model '{alias}'")


OPEN = Principal(name="open")


def _principal(rec: KeyRecord) -> Principal:
    models = None if "*" in rec.models else frozenset(rec.models)
    return Principal(rec.name, rec.team, models, rec.rpm)


class RateLimiter:
    """Token bucket per key: `rpm` requests a minute, bursts up to `rpm`."""

    def __init__(self):
        self._buckets: dict[str, tuple[float, float]] = {}

    def check(self, principal: Principal) -> None:
        if not principal.rpm:
            return
        now = time.monotonic()
        tokens, last = self._buckets.get(principal.name, (float(principal.rpm), now))
        tokens = min(float(principal.rpm), tokens + (now - last) * principal.rpm / 60.0)
        if tokens < 1.0:
            wait = (1.0 - tokens) * 60.0 / principal.rpm
            self._buckets[principal.name] = (tokens, now)
            raise RateLimited(f"Rate limit of {principal.rpm} requests per minute reached for key "
                              f"'{principal.name}'", headers={"retry-after": str(max(1, round(wait)))})
        self._buckets[principal.name] = (tokens - 1.0, now)


class KeyRing:
    def __init__(self, config: LoadedConfig, store: Store):
        self.store = store
        self._static: dict[str, Principal] = {}
        for key in config.keys:
            value = os.environ.get(key.key_env)
            if not value:
                log.warning("key %r is disabled: environment variable %s is not set", key.name, key.key_env)
                continue
            principal = _principal(KeyRecord(key.name, "", key.models, key.team, key.rpm))
            principal.privacy, principal.sensitivity, principal.logging = key.privacy, key.sensitivity, key.logging
            self._static[hash_key(value)] = principal
        admin_value = os.environ.get(config.admin.key_env) if config.admin.key_env else None
        self.admin_hash = hash_key(admin_value) if admin_value else None
        if self.admin_hash:
            self._static[self.admin_hash] = Principal("admin", admin=True)
        self._cache: dict[str, tuple[Principal | None, float]] = {}
        self.limiter = RateLimiter()
        self.open = not config.keys and not self.admin_hash and not store.list_keys()

    async def authenticate(self, authorization: str | None, x_api_key: str | None = None) -> Principal:
        if self.open:
            return OPEN
        token = None
        if authorization and authorization[:7].lower() == "bearer ":
            token = authorization[7:].strip()
        token = token or x_api_key
        if not token:
            raise Unauthorized("Missing API key: send 'Authorization: Bearer <key>'", code="missing_api_key")
        digest = hash_key(token)
        principal = self._static.get(digest) or await self._lookup(digest)
        if principal is None:
            raise Unauthorized("Incorrect API key provided")
        self.limiter.check(principal)
        return principal

    async def _lookup(self, digest: str) -> Principal | None:
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        record = await asyncio.get_running_loop().run_in_executor(None, self.store.find_key, digest)
        principal = _principal(record) if record else None
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[digest] = (principal, now + (_POSITIVE_TTL_S if principal else _NEGATIVE_TTL_S))
        return principal
