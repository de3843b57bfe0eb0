"""The pieces the OpenAPI document (chalicelib/api/openapi.py) is built of: schema refs, bodies, errors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

REF = "#/components/schemas/"


def schemas(*models: type[BaseModel]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=REF + "{model}")
        found.update(schema.pop("$defs", {}))
        found[model.__name__] = schema
    return found


def error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF + "ErrorBody"}}},
    }
    if headers:
        response["headers"] = headers
    return response


def ok(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": REF + schema}}}}


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The query string of ``model``; the enums it names are in components (``_schemas``)."""
    schema = model.model_json_schema(ref_template=REF + "{model}")
    params = []
    for name, prop in schema["properties"].items():
        description = prop.pop("description", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": REF + schema}}}}


def errors(*statuses: str) -> dict[str, Any]:
    """The common error answers named by ``statuses`` (see ERRORS)."""
    return {status: ERRORS[status] for status in statuses}


SIGNED_IN: list[dict[str, list[str]]] = [{"bearer": []}]
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}}
ERRORS: dict[str, dict[str, Any]] = {
    "400": error("A parameter or the body is invalid; `field` names it (code invalid_input)"),
    "401": error("No valid token: API Gateway's answer (code UNAUTHORIZED)"),
    "403": error("API Gateway refused the token (code ACCESS_DENIED), or the caller lacks the role (code forbidden)"),
    "413": error("The body is larger than 64 KiB (code payload_too_large)"),
    "415": error("The body is not `application/json` (code unsupported_media_type)"),
    "429": error("API Gateway's rate limit (code THROTTLED)", RETRY_AFTER),
    "503": error("The database is busy or unreachable; nothing was changed (code service_unavailable)", RETRY_AFTER),
}
PUBLIC = ("429", "503")
SIGNED_IN_ERRORS = ("401", "403", "429", "503")
WITH_BODY = ("400", "413", "415")
