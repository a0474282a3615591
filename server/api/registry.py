"""The registry of REST routes: each declares, once, what the router and the OpenAPI document need:
its summary, success status, query parameters, request body and response schema. It imports no
handler module (they import it): `server.api.routes` gathers them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Query:
    """A query parameter as the handler reads it (`request.query`)."""

    name: str
    type: Literal["string", "integer", "boolean"] = "string"
    required: bool = False
    enum: tuple[str, ...] | None = None
    format: str | None = None  # "date", ...
    pattern: str | None = None
    minimum: int | None = None
    description: str = ""

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": self.type}
        if self.enum is not None:
            schema["enum"] = list(self.enum)
        if self.format is not None:
            schema["format"] = self.format
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        return schema


@dataclass(frozen=True)
class Shape:
    """A named JSON schema for an answer where a full pydantic model is not (yet) written: only what
    is always true of the answer (the keys always present, typed)."""

    name: str
    schema: dict[str, Any]


# An answer's body: a pydantic model, a Shape, or None (no JSON body documented beyond "an object").
Response = type[BaseModel] | Shape | None


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    body: type[BaseModel] | None
    public: bool
    status: int = 200
    # Other success statuses the route answers (a repeated excuse or check-in is 200 after the 201).
    also: tuple[int, ...] = ()
    query: tuple[Query, ...] = ()
    # "multipart": the register import (a file, as the body or a multipart field `file`).
    upload: bool = False
    response: Response = None
    # Media types of a success other than JSON (a document, a calendar, a report).
    media_types: tuple[str, ...] = ("application/json",)
    # Refusals beyond 4XX, by design (the echo check's 503 when busy): the error envelope too.
    refusals: tuple[int, ...] = ()

    @property
    def statuses(self) -> tuple[int, ...]:
        return (self.status, *self.also)


ROUTES: list[RouteSpec] = []


def route(
    method: str,
    path: str,
    *,
    summary: str,
    tag: str,
    body: type[BaseModel] | None = None,
    public: bool = False,
    status: int = 200,
    also: tuple[int, ...] = (),
    query: tuple[Query, ...] = (),
    upload: bool = False,
    response: Response = None,
    media_types: tuple[str, ...] = ("application/json",),
    refusals: tuple[int, ...] = (),
) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        ROUTES.append(
            RouteSpec(
                method,
                path,
                handler,
                summary,
                tag,
                body,
                public,
                status=status,
                also=also,
                query=query,
                upload=upload,
                response=response,
                media_types=media_types,
                refusals=refusals,
            )
        )
        return handler

    return register
