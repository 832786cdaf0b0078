"""The storage seam. The gateway hands records to `write`, which must not block
the event loop; everything else is called from the CLI or a worker thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..types import RequestRecord


class KeyExists(Exception):
    """A key with that name is stored already."""


@dataclass(slots=True)
class KeyRecord:
    name: str
    key_hash: str
    models: list[str]
    team: str | None = None
    rpm: int | None = None
    created: float = 0.0
    revoked: bool = False


class Store(Protocol):
    def open(self) -> None: ...

    def close(self) -> None:
        """Write everything queued, then release the database."""

    def write(self, record: RequestRecord) -> None:
        """Queue a request record; returns at once."""

    def flush(self) -> None:
        """Block until every queued record is written."""

    def requests(self, *, since: float | None = None, limit: int = 50, after_rowid: int = 0) -> list[dict]: ...

    def costs(self, *, by: str, since: float | None = None) -> list[dict]: ...

    def audit(self, *, since: float | None = None, limit: int = 1000) -> list[dict]: ...

    def add_key(self, key: KeyRecord) -> None: ...

    def find_key(self, key_hash: str) -> KeyRecord | None: ...

    def list_keys(self) -> list[KeyRecord]: ...

    def revoke_key(self, name: str) -> bool: ...

    def add_feedback(self, request_id: str, score: float | None, label: str | None,
                     comment: str | None) -> int:
        """Store feedback on a logged request; returns the feedback's id."""

    def request_exists(self, request_id: str, *, key_name: str | None = None) -> bool: ...

    def experiment_rows(self, name: str, since: float | None = None) -> list[dict]:
        """Per-request rows of one experiment, with each request's feedback aggregated."""
