"""The query service's governed endpoints: SQL and the clean room, as the caller's authenticated role.

This is where the trust boundary sits. The service holds ``HUB_PII_HASH_KEY`` and decides the role
from the bearer token, never from the request: ``HUB_API_TOKENS`` names a file of lines
``<sha256 of the token> <role> <name>`` (``hub token`` makes one), so the service stores no token
itself. An unknown or missing token is 401; a role asking for what it may not read is 403.
"""


import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import duckdb
from fastapi import APIRouter, Depends, HTTPException
from fastapi.encoders import jsonable_encoder
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from hub_platform.lib.governance import ROLES, AccessDenied, MalformedQuestion, cleanroom_aggregate, cleanroom_policy
from hub_platform.lib.lake.store import Lake, TableNotFound
from hub_platform.serving.query import QuerySession

TOKENS_VARIABLE = "HUB_API_TOKENS"
MAX_ROWS = 10_000  # an answer larger than this is cut (and says so): the service is not an export path


@dataclass(frozen=True)
class Principal:
    name: str
    role: str


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(role: str, name: str) -> tuple[str, str]:
    """A fresh token and the line that grants it ``role`` in the tokens file."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    token = secrets.token_urlsafe(32)
    return token, f"{token_digest(token)} {role} {name}"


def load_tokens(path: str | Path | None = None) -> dict[str, Principal]:
    """Token digests to principals, from ``path`` (default: the file HUB_API_TOKENS names; none: no one)."""
    path = path or os.environ.get(TOKENS_VARIABLE)
    if not path:
        return {}
    principals = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        digest, role, name = [*line.split(maxsplit=2), "", ""][:3]
        if len(digest) != 64 or role not in ROLES or not name:
            raise ValueError(f"{path}, line {number}: expected '<sha256 hex> <role> <name>' with role one of {', '.join(ROLES)}")
        principals[digest] = Principal(name.strip(), role)
    return principals


class SqlQuestion(BaseModel):
    query: str = Field(max_length=20_000)
    as_of: datetime | None = None


class CleanRoomQuestion(BaseModel):
    by: list[str]
    measures: list[tuple[str, str]] = []


class Answer(BaseModel):
    columns: list[str]
    rows: list[list]
    truncated: bool = False
    suppressed_groups: int | None = None


def governed_router(lake: Lake, tokens: dict[str, Principal]) -> APIRouter:
    router = APIRouter()
    bearer = HTTPBearer(auto_error=False)

    def principal(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
        found = tokens.get(token_digest(credentials.credentials)) if credentials else None
        if found is None:
            raise HTTPException(status_code=401, detail="a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
        return found

    Caller = Annotated[Principal, Depends(principal)]

    @router.post("/sql", response_model=Answer)
    def sql(question: SqlQuestion, caller: Caller) -> Answer:
        """SQL over the tables the caller's role may read, masked as the role sees them."""
        try:
            table = QuerySession(lake, role=caller.role, as_of=question.as_of).sql(question.query)
        except AccessDenied as error:
            raise HTTPException(status_code=403, detail=str(error)) from None
        except (TableNotFound, MalformedQuestion, duckdb.Error) as error:
            raise HTTPException(status_code=400, detail=str(error)) from None
        return _answer(table)

    @router.post("/tables", response_model=Answer)
    def tables(caller: Caller) -> Answer:
        """The ``zone.table`` names the caller's role may query."""
        return Answer(columns=["table"], rows=[[name] for name in QuerySession(lake, role=caller.role).tables()])

    @router.post("/cleanroom", response_model=Answer)
    def cleanroom(question: CleanRoomQuestion, _caller: Caller) -> Answer:
        """Aggregates over customer360/profile within the declared policy (any authenticated role)."""
        try:
            table, suppressed = cleanroom_aggregate(lake.read("customer360", "profile"), question.by, question.measures,
                                                    cleanroom_policy())
        except AccessDenied as error:
            raise HTTPException(status_code=403, detail=str(error)) from None
        except (TableNotFound, MalformedQuestion) as error:
            raise HTTPException(status_code=400, detail=str(error)) from None
        return _answer(table).model_copy(update={"suppressed_groups": suppressed})

    return router


def _answer(table) -> Answer:
    rows = [list(row.values()) for row in table.slice(0, MAX_ROWS).to_pylist()]
    return Answer(columns=table.column_names, rows=jsonable_encoder(rows), truncated=table.num_rows > MAX_ROWS)
