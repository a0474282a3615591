"""The OpenAPI 3 document, generated from the route registry: each route's success status, query
parameters, request body (the pydantic models, or the import's file) and answer schema, as declared
once in its `route(...)`; every refusal is the common error envelope (`server/api/errors.py`)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from server.api.registry import ROUTES, RouteSpec, Shape

# ApiError.body(): every key always present; `rule` is a rule id or null.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "rule": {"type": ["string", "null"]},
                "details": {"type": "object"},
            },
            "required": ["code", "message", "rule", "details"],
        }
    },
    "required": ["error"],
}

# Ids are positive and fit PostgreSQL's 32-bit integer columns (server/api/context.py path_id).
ID_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}

_REASONS = {
    200: "OK",
    201: "Created",
    204: "No content",
}

# The register import: the file itself as the body (?filename= names its kind), or a form.
UPLOAD_CONTENT: dict[str, Any] = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "properties": {
                "create_groups": {"type": "string", "description": "true/on/1: create the groups named"},
                "file": {"type": "string", "format": "binary", "description": "the CSV or XLSX file"},
            },
            "required": ["file"],
        },
        "encoding": {"file": {"contentType": "text/csv, application/octet-stream"}},
    },
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}
    },
}


def _schema_ref(model: type[BaseModel] | Shape, schemas: dict[str, Any], mode: str) -> dict[str, Any]:
    if isinstance(model, Shape):
        schemas[model.name] = model.schema
        return {"$ref": f"#/components/schemas/{model.name}"}
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)  # type: ignore[arg-type]
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _responses(spec: RouteSpec, schemas: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status in spec.statuses:
        answer: dict[str, Any] = {"description": _REASONS.get(status, "OK")}
        if status != 204:
            content: dict[str, Any] = {}
            for media_type in spec.media_types:
                if media_type == "application/json":
                    schema = (
                        _schema_ref(spec.response, schemas, "serialization")
                        if spec.response is not None
                        else {"type": "object"}
                    )
                elif media_type.startswith("text/"):
                    schema = {"type": "string"}
                else:
                    schema = {"type": "string", "format": "binary"}
                content[media_type] = {"schema": schema}
            answer["content"] = content
        responses[str(status)] = answer
    refused = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    responses["4XX"] = {"description": "Refused; message in the caller's language", "content": refused}
    for status in spec.refusals:
        responses[str(status)] = {"description": "Refused for now; see Retry-After", "content": refused}
    return responses


def _operation(spec: RouteSpec, schemas: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": spec.summary,
        "tags": [spec.tag],
        "operationId": spec.handler.__name__,
        "responses": _responses(spec, schemas),
    }
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            # `{id}` is an integer id; other path parameters (a rule set's name, a token's or an echo
            # session's id, a breakout group's index) are strings.
            "schema": dict(ID_SCHEMA) if name == "id" else {"type": "string"},
        }
        for name in re.findall(r"{(\w+)}", spec.path)
    ]
    for query in spec.query:
        parameter: dict[str, Any] = {
            "name": query.name,
            "in": "query",
            "required": query.required,
            "schema": query.schema(),
        }
        if query.description:
            parameter["description"] = query.description
        parameters.append(parameter)
    if parameters:
        operation["parameters"] = parameters
    if spec.upload:
        operation["requestBody"] = {"required": True, "content": UPLOAD_CONTENT}
    elif spec.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _schema_ref(spec.body, schemas, "validation")}},
        }
    if not spec.public:
        operation["security"] = [{"session": []}, {"bearer": []}]
    return operation


def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for spec in ROUTES:
        if not spec.path.startswith("/api/v1"):
            continue
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(spec, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cellmeet",
            "version": "1",
            "description": "Online Party cell meetings (HD 03-HD/TW)",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "cellmeet_session"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
