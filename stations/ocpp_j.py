"""OCPP-J 1.6 framing and schema checks, answered in 1.6 terms.

The ``ocpp`` package drops malformed JSON without an answer and names schema errors with 2.0
spellings (ARCHITECTURE.md, rule 3); it also skips ``date-time``. This module parses a frame once,
checks it against the 1.6 schemas the package ships (inline, rule 4) and says which OCPP-J 1.6
CALLERROR code a bad frame deserves.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import ocpp.v16
from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import best_match

SCHEMA_DIR = Path(ocpp.v16.__file__).parent / "schemas"

CALL, CALLRESULT, CALLERROR = 2, 3, 4
TYPE_NAMES = {CALL: "CALL", CALLRESULT: "CALLRESULT", CALLERROR: "CALLERROR"}

# The actions a station sends to the Central System (OCPP 1.6 core and other profiles).
STATION_ACTIONS = (
    "Authorize",
    "BootNotification",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
)
# The actions the Central System sends to a station: the 18 of OCPP 1.6 plus DataTransfer.
CS_ACTIONS = (
    "CancelReservation",
    "ChangeAvailability",
    "ChangeConfiguration",
    "ClearCache",
    "ClearChargingProfile",
    "DataTransfer",
    "GetCompositeSchedule",
    "GetConfiguration",
    "GetDiagnostics",
    "GetLocalListVersion",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "ReserveNow",
    "Reset",
    "SendLocalList",
    "SetChargingProfile",
    "TriggerMessage",
    "UnlockConnector",
    "UpdateFirmware",
)
KNOWN_ACTIONS = frozenset(STATION_ACTIONS) | frozenset(CS_ACTIONS)

# OCPP-J 1.6 section 4.2.3 spellings (note "Occurence").
FORMATION_VIOLATION = "FormationViolation"
PROPERTY_CONSTRAINT_VIOLATION = "PropertyConstraintViolation"
OCCURENCE_CONSTRAINT_VIOLATION = "OccurenceConstraintViolation"
TYPE_CONSTRAINT_VIOLATION = "TypeConstraintViolation"
PROTOCOL_ERROR = "ProtocolError"
NOT_IMPLEMENTED = "NotImplemented"
NOT_SUPPORTED = "NotSupported"
INTERNAL_ERROR = "InternalError"
SECURITY_ERROR = "SecurityError"
GENERIC_ERROR = "GenericError"

_SCHEMA_CODES = {
    "required": OCCURENCE_CONSTRAINT_VIOLATION,
    "minItems": OCCURENCE_CONSTRAINT_VIOLATION,
    "maxItems": OCCURENCE_CONSTRAINT_VIOLATION,
    "uniqueItems": OCCURENCE_CONSTRAINT_VIOLATION,
    "type": TYPE_CONSTRAINT_VIOLATION,
    "additionalProperties": FORMATION_VIOLATION,
    "enum": PROPERTY_CONSTRAINT_VIOLATION,
    "maxLength": PROPERTY_CONSTRAINT_VIOLATION,
    "minLength": PROPERTY_CONSTRAINT_VIOLATION,
    "minimum": PROPERTY_CONSTRAINT_VIOLATION,
    "maximum": PROPERTY_CONSTRAINT_VIOLATION,
    "pattern": PROPERTY_CONSTRAINT_VIOLATION,
    "format": PROPERTY_CONSTRAINT_VIOLATION,
    "multipleOf": PROPERTY_CONSTRAINT_VIOLATION,
}
# Recovers the unique id of a CALL whose JSON does not parse: [2, "<id>", ...
_UNIQUE_ID_RE = re.compile(r'^\s*\[\s*2\s*,\s*"((?:[^"\\]|\\.){1,64})"')
# Schemas whose numbers carry one decimal (the ocpp package parses these as Decimal too).
_DECIMAL_SCHEMAS = {"SetChargingProfile", "RemoteStartTransaction", "GetCompositeScheduleResponse"}

_format_checker = FormatChecker(formats=())


@_format_checker.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if "T" not in value:
        raise ValueError(f"{value!r} is not an ISO 8601 date-time")
    datetime.fromisoformat(value)
    return True


class FrameError(Exception):
    """A frame that deserves a CALLERROR (when ``unique_id`` is known) and a note in the log."""

    def __init__(self, code: str, description: str, *, unique_id: str = "", action: str = ""):
        super().__init__(description)
        self.code = code
        self.description = description
        self.unique_id = unique_id
        self.action = action


@dataclass
class Message:
    """A frame parsed far enough to route it."""

    message_type: int
    unique_id: str
    action: str = ""
    payload: Any = None
    error_code: str = ""
    error_description: str = ""
    error_details: dict = field(default_factory=dict)

    @property
    def type_name(self) -> str:
        return TYPE_NAMES[self.message_type]

    @property
    def logged_payload(self) -> Any:
        if self.message_type == CALLERROR:
            return {
                "errorCode": self.error_code,
                "errorDescription": self.error_description,
                "errorDetails": self.error_details,
            }
        return self.payload


def parse(raw: str) -> Message:
    """Parse one OCPP-J frame or raise FrameError saying why it is not one."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        match = _UNIQUE_ID_RE.match(raw)
        raise FrameError(
            FORMATION_VIOLATION,
            f"Malformed JSON: {exc}",
            unique_id=json.loads(f'"{match.group(1)}"') if match else "",
        ) from None
    if not isinstance(data, list) or not data:
        raise FrameError(FORMATION_VIOLATION, "An OCPP-J message is a non-empty JSON array")
    unique_id = data[1] if len(data) > 1 and isinstance(data[1], str) else ""
    message_type = data[0]
    if message_type not in TYPE_NAMES or isinstance(message_type, bool):
        raise FrameError(
            PROPERTY_CONSTRAINT_VIOLATION,
            f"MessageTypeId {message_type!r} is not 2, 3 or 4",
            unique_id=unique_id,  # not a response of ours: tell the sender
        )
    expected = {CALL: 4, CALLRESULT: 3, CALLERROR: 5}[message_type]
    if not unique_id:
        raise FrameError(FORMATION_VIOLATION, "The UniqueId must be a non-empty string")
    if len(unique_id) > 36:
        raise FrameError(
            PROPERTY_CONSTRAINT_VIOLATION,
            "The UniqueId is longer than 36 characters",
            unique_id=unique_id if message_type == CALL else "",
        )
    if len(data) != expected:
        code = PROTOCOL_ERROR if len(data) < expected else FORMATION_VIOLATION
        raise FrameError(
            code,
            f"A {TYPE_NAMES[message_type]} has {expected} elements, this one {len(data)}",
            unique_id=unique_id if message_type == CALL else "",
            action=data[2] if message_type == CALL and len(data) > 2 else "",
        )
    if message_type == CALL:
        if not isinstance(data[2], str):
            raise FrameError(
                FORMATION_VIOLATION, "The Action must be a string", unique_id=unique_id
            )
        return Message(CALL, unique_id, action=data[2], payload=data[3])
    if message_type == CALLRESULT:
        return Message(CALLRESULT, unique_id, payload=data[2])
    code, description, details = data[2], data[3], data[4]
    if not isinstance(code, str) or not isinstance(description, str):
        raise FrameError(FORMATION_VIOLATION, "errorCode and errorDescription must be strings")
    return Message(
        CALLERROR,
        unique_id,
        error_code=code,
        error_description=description,
        error_details=details if isinstance(details, dict) else {},
    )


@cache
def _validator(schema_name: str) -> Draft4Validator:
    parse_float = Decimal if schema_name in _DECIMAL_SCHEMAS else float
    schema = json.loads(
        (SCHEMA_DIR / f"{schema_name}.json").read_text(encoding="utf-8-sig"),
        parse_float=parse_float,
    )
    return Draft4Validator(schema, format_checker=_format_checker)


def schema_error(action: str, payload: Any, *, response: bool = False) -> tuple[str, str] | None:
    """(1.6 error code, description) when the payload breaks the action's schema, else None."""
    name = f"{action}Response" if response else action
    validator = _validator(name)
    if name in _DECIMAL_SCHEMAS:
        payload = json.loads(json.dumps(payload, default=str), parse_float=Decimal)
    error = best_match(validator.iter_errors(payload))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "payload"
    if error.validator == "type" and not error.absolute_path:
        return FORMATION_VIOLATION, f"{name}: the payload must be a JSON object"
    return _SCHEMA_CODES.get(
        error.validator, FORMATION_VIOLATION
    ), f"{name} {where}: {error.message}"


def dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def call_frame(unique_id: str, action: str, payload: Any) -> str:
    return dump([CALL, unique_id, action, payload])


def result_frame(unique_id: str, payload: Any) -> str:
    return dump([CALLRESULT, unique_id, payload])


def error_frame(unique_id: str, code: str, description: str, details: dict | None = None) -> str:
    return dump([CALLERROR, unique_id, code, description[:255], details or {}])
