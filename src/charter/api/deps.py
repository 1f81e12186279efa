"""Request dependencies: the Charter instance, the authenticated actor, pagination."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from charter.domain.errors import Unauthenticated
from charter.services.context import Actor, Charter
from charter.services.users import authenticate

_bearer = HTTPBearer(auto_error=False, description="A Charter API token (`chtr_...`).")


def get_charter(request: Request) -> Charter:
    """The Charter instance the app was built with."""
    charter: Charter = request.app.state.charter
    return charter


def get_actor(
    charter: Annotated[Charter, Depends(get_charter)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """Authenticate the bearer token; every endpoint but health depends on this."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("missing bearer token (Authorization: Bearer chtr_...)")
    with charter.db.transaction(write=False) as session:
        return authenticate(session, credentials.credentials)


@dataclass(frozen=True)
class Paging:
    """Limit and offset of a listing."""

    limit: int
    offset: int


def get_paging(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Items to skip.")] = 0,
) -> Paging:
    """Pagination parameters shared by every listing."""
    return Paging(limit=limit, offset=offset)


CharterDep = Annotated[Charter, Depends(get_charter)]
ActorDep = Annotated[Actor, Depends(get_actor)]
PagingDep = Annotated[Paging, Depends(get_paging)]
