"""OCPP-J 1.6 framing rules the ocpp library does not apply the 1.6 way.

The library answers schema errors with 2.0 spellings (FormatViolation, OccurrenceConstraint...),
swaps NotImplemented and NotSupported, does not check ``date-time`` and stays silent on malformed
JSON. A charger must answer in 1.6 terms (OCPP-J 1.6 section 4.2.3):

- unknown action: NotImplemented; known 1.6 action the station does not support: NotSupported;
- missing elements in the CALL array: ProtocolError; payload not an object or an unknown field:
  FormationViolation; missing required field: OccurenceConstraintViolation (sic);
- wrong JSON type, too long a CiString or a malformed dateTime: TypeConstraintViolation;
- value outside an enumeration or other bounds: PropertyConstraintViolation;
- malformed JSON from which a unique id can be recovered: FormationViolation;
- except: a TriggerMessage for a message the station does not know is answered with the
  status NotImplemented that TriggerMessage.conf provides for exactly this case.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from jsonschema import Draft4Validator, FormatChecker
from ocpp.messages import get_validator
from ocpp.v16.enums import Action

_UNIQUE_ID = re.compile(r'^\s*\[\s*2\s*,\s*"((?:[^"\\]|\\.){1,36})"')
_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str) or "T" not in value:
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


_VALIDATORS: dict[str, Draft4Validator] = {}
KNOWN_ACTIONS = {action.value for action in Action}


class CallErrorFrame(Exception):
    """A CALLERROR to answer instead of handling the CALL."""

    def __init__(self, unique_id: str, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.unique_id = unique_id
        self.code = code
        self.description = description

    def to_json(self) -> str:
        return json.dumps([4, self.unique_id, self.code, self.description, {}])


def recover_unique_id(raw: str) -> str | None:
    """The unique id of a malformed CALL, when its start is still readable."""
    match = _UNIQUE_ID.match(raw)
    return match.group(1) if match else None


def _validator(action: str) -> Draft4Validator:
    if action not in _VALIDATORS:
        base = get_validator(2, action, "1.6")
        _VALIDATORS[action] = Draft4Validator(base.schema, format_checker=_FORMATS)
    return _VALIDATORS[action]


_CODE_BY_KEYWORD = {
    "required": "OccurenceConstraintViolation",
    "additionalProperties": "FormationViolation",
    "type": "TypeConstraintViolation",
    "maxLength": "TypeConstraintViolation",
    "format": "TypeConstraintViolation",
}


def _unknown_trigger(action: str, error: Any) -> bool:
    path = list(error.absolute_path)
    return action == "TriggerMessage" and error.validator == "enum" and path == ["requestedMessage"]


def check_call(raw: str, supported: set[str]) -> list[Any] | None:
    """Parse a frame; raise CallErrorFrame for a bad CALL, return the message list otherwise.

    Returns None for frames a charger ignores (unparseable without a unique id).
    """
    try:
        message = json.loads(raw)
    except ValueError:
        unique_id = recover_unique_id(raw)
        if unique_id is None:
            return None
        raise CallErrorFrame(unique_id, "FormationViolation", "Frame is not valid JSON") from None
    if not isinstance(message, list) or not message or message[0] != 2:
        return message if isinstance(message, list) else None
    if len(message) < 4 or not isinstance(message[1], str):
        unique_id = message[1] if len(message) > 1 and isinstance(message[1], str) else None
        if unique_id is None:
            return None
        raise CallErrorFrame(unique_id, "ProtocolError", "CALL must have 4 elements")
    _, unique_id, action, payload = message[:4]
    if action not in KNOWN_ACTIONS:
        raise CallErrorFrame(unique_id, "NotImplemented", f"Unknown action {action!r}")
    if action not in supported:
        raise CallErrorFrame(unique_id, "NotSupported", f"{action} is not supported")
    if not isinstance(payload, dict):
        raise CallErrorFrame(unique_id, "FormationViolation", "Payload must be a JSON object")
    errors = list(_validator(action).iter_errors(payload))
    if errors and all(_unknown_trigger(action, e) for e in errors):
        return message  # answered TriggerMessage.conf NotImplemented, as 1.6 provides
    error = errors[0] if errors else None
    if error is not None:
        code = _CODE_BY_KEYWORD.get(error.validator, "PropertyConstraintViolation")
        where = "/".join(str(part) for part in error.absolute_path) or "payload"
        raise CallErrorFrame(unique_id, code, f"{where}: {error.message}"[:255])
    return message
