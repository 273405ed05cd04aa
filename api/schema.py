"""The long-poll endpoints are async Django views (api.views.waiting), which drf-spectacular
does not see: they are added to the schema here, with the components the other endpoints use."""

from __future__ import annotations

WAIT_RESPONSE = {
    "type": "object",
    "properties": {
        "attempt": {"allOf": [{"$ref": "#/components/schemas/Attempt"}], "nullable": True},
        "prompt": {"allOf": [{"$ref": "#/components/schemas/Prompt"}], "nullable": True},
        "ended": {"type": "boolean", "description": "The attempt has ended."},
        "timed_out": {"type": "boolean", "description": "Nothing happened within the timeout."},
    },
    "required": ["attempt", "prompt", "ended", "timed_out"],
}


def _operation(operation_id: str, summary: str, what: str) -> dict:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "tags": [what],
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                {
                    "name": "after",
                    "in": "query",
                    "schema": {"type": "integer", "default": 0},
                    "description": "Only prompts newer than this prompt id.",
                },
                {
                    "name": "timeout",
                    "in": "query",
                    "schema": {"type": "number", "default": 30},
                    "description": "Seconds to wait at most (CERTLAB_API_WAIT_MAX caps it).",
                },
            ],
            "security": [{"bearerAuth": []}, {"cookieAuth": []}],
            "responses": {
                "200": {
                    "content": {"application/json": {"schema": WAIT_RESPONSE}},
                    "description": "What happened first, or timed_out.",
                },
                "401": {"description": "No or a bad token or session."},
                "404": {"description": "No such object, or not yours."},
            },
        }
    }


def add_wait_endpoints(result: dict, generator, request, public) -> dict:
    paths = result.setdefault("paths", {})
    paths["/api/v1/attempts/{id}/next/"] = _operation(
        "attempts_next",
        "Wait for the attempt's next prompt or its end (long-poll)",
        "attempts",
    )
    paths["/api/v1/stations/{id}/prompts/next/"] = _operation(
        "stations_prompts_next",
        "Wait for the next prompt of any attempt on the station (long-poll)",
        "stations",
    )
    schemes = result.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes.setdefault("bearerAuth", {"type": "http", "scheme": "bearer"})
    return result
