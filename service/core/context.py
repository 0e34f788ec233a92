"""Per-request facts (request id, client address) that the audit trail and logs need.

Set by the request middleware; read where threading them through arguments would only add noise.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestFacts:
    request_id: str | None = None
    client_address: str | None = None


_current: ContextVar[RequestFacts] = ContextVar(
    "obhvat_request_facts", default=RequestFacts()  # noqa: B039 - frozen, so sharing it is safe
)


def current_request() -> RequestFacts:
    return _current.get()


def set_current_request(facts: RequestFacts) -> None:
    _current.set(facts)


@contextmanager
def request_facts(facts: RequestFacts) -> Iterator[None]:
    """These facts for the duration of the block (work done on behalf of a request that is gone,
    such as the per-address count of anonymous requests)."""
    token = _current.set(facts)
    try:
        yield
    finally:
        _current.reset(token)
