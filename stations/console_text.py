"""What the console says of a payload that breaks its action's schema: a plain sentence that
names the field ("Reset: type must be one of Hard, Soft (not "Hard2")."), not the validator's
own text ("'Hard2' is not one of ['Hard', 'Soft']")."""

from __future__ import annotations

import json
from typing import Any

from stations import ocpp_j

TYPES = {"string": "text", "integer": "a whole number", "number": "a number",
         "boolean": "true or false", "object": "an object", "array": "a list"}  # fmt: skip


def console_payload_problem(action: str, payload: Any) -> str | None:
    """None when the payload may be sent as ``action``'s request, else what is wrong with it."""
    problem = ocpp_j.schema_error(action, payload)
    if problem is None:
        return None
    error = ocpp_j.first_violation(action, payload)
    if error is None:  # beyond 32 bits, or too deep to check: schema_error's text is plain
        return problem[1]
    return f"{action}: {_sentence(error)}."


def _field(path) -> str:
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else f"{text[:39]}…"


def _sentence(error) -> str:
    field = _field(error.absolute_path)
    rule, wanted, got = error.validator, error.validator_value, _shown(error.instance)
    if rule == "required":
        missing = next((name for name in wanted if name not in (error.instance or {})), "")
        return f"the field {_field([*error.absolute_path, missing])} is missing"
    if rule == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"{', '.join(extra)} is not a field of this action"
    if not field:
        return "the payload must be a JSON object"
    if rule == "enum":
        return f"{field} must be one of {', '.join(map(str, wanted))} (not {got})"
    if rule == "type":
        kinds = wanted if isinstance(wanted, list) else [wanted]
        return f"{field} must be {' or '.join(TYPES.get(k, k) for k in kinds)} (not {got})"
    if rule == "maxLength":
        return f"{field} is at most {wanted} characters (this one has {len(error.instance)})"
    if rule in ("minimum", "maximum"):
        side = "at least" if rule == "minimum" else "at most"
        return f"{field} must be {side} {wanted} (not {got})"
    if rule == "format":
        return f"{field} must be a date and time such as 2026-12-01T10:00:00Z (not {got})"
    return f"{field} is not valid ({got})"
