"""The OpenAPI 3 document, built from the route registry and the pydantic request models."""

from __future__ import annotations

import re
from typing import Any

from server.api.routes import ROUTES

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
            "required": ["code", "message"],
        }
    },
}


def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for spec in ROUTES:
        if not spec.path.startswith("/api/v1"):
            continue
        operation: dict[str, Any] = {
            "summary": spec.summary,
            "tags": [spec.tag],
            "operationId": spec.handler.__name__,
            "responses": {
                "200": {"description": "OK"},
                "4XX": {
                    "description": "Refused; message in the caller's language",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        }
        params = re.findall(r"{(\w+)}", spec.path)
        if params:
            # `{id}` is an integer id; other path parameters (a rule set's name, an echo session) are strings.
            operation["parameters"] = [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer" if name == "id" else "string"},
                }
                for name in params
            ]
        if spec.body is not None:
            schema = spec.body.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[spec.body.__name__] = schema
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{spec.body.__name__}"}}
                },
            }
        if not spec.public:
            operation["security"] = [{"session": []}, {"bearer": []}]
        paths.setdefault(spec.path, {})[spec.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cellmeet",
            "version": "1",
            "description": "Online Party cell meetings (HD 03-HD/TW)",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "cellmeet_session"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }
