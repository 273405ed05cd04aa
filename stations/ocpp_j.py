"""OCPP-J 1.6 framing and schema checks, answered in 1.6 terms.

The ``ocpp`` package drops malformed JSON without an answer and names schema errors with 2.0
spellings (ARCHITECTURE.md, rule 3); it also skips ``date-time``. This module parses a frame once,
checks it against the 1.6 schemas the package ships (inline, rule 4) and says which OCPP-J 1.6
CALLERROR code a bad frame deserves.
"""

from __future__ import annotations

import json
import re
import threading
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
    storable: bool = True  # False: a number jsonb cannot hold; the log keeps the raw text only

    @property
    def type_name(self) -> str:
        return TYPE_NAMES[self.message_type]

    @property
    def logged_payload(self) -> Any:
        if not self.storable:
            return None
        if self.message_type == CALLERROR:
            return {
                "errorCode": self.error_code,
                "errorDescription": self.error_description,
                "errorDetails": self.error_details,
            }
        return self.payload


def parse(raw: str) -> Message:
    """Parse one OCPP-J frame or raise FrameError saying why it is not one. Nothing else
    leaves it, whatever the text holds (nesting deeper than the parser goes, integers longer
    than Python converts, lone surrogates)."""
    _numbers.exotic = False
    try:
        data = _decode(raw)
    except (ValueError, RecursionError) as exc:
        what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)[:200]
        raise FrameError(
            FORMATION_VIOLATION, f"Malformed JSON: {what}", unique_id=_recovered_unique_id(raw)
        ) from None
    if not isinstance(data, list) or not data:
        raise FrameError(FORMATION_VIOLATION, "An OCPP-J message is a non-empty JSON array")
    unique_id = data[1] if len(data) > 1 and isinstance(data[1], str) else ""
    message_type = data[0]
    if type(message_type) is not int or message_type not in TYPE_NAMES:
        raise FrameError(
            PROPERTY_CONSTRAINT_VIOLATION,
            f"MessageTypeId {_short(message_type)} is not 2, 3 or 4",
            unique_id=_answerable(unique_id),  # not a response of ours: tell the sender
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
    if "\\u" in raw and not _is_unicode(data):
        raise FrameError(
            FORMATION_VIOLATION,
            "A string holds a lone surrogate (\\ud800-\\udfff): not Unicode text",
            unique_id=_answerable(unique_id) if message_type == CALL else "",
        )
    if len(data) != expected:
        code = PROTOCOL_ERROR if len(data) < expected else FORMATION_VIOLATION
        action = data[2] if message_type == CALL and len(data) > 2 else ""
        raise FrameError(
            code,
            f"A {TYPE_NAMES[message_type]} has {expected} elements, this one {len(data)}",
            unique_id=unique_id if message_type == CALL else "",
            action=action if isinstance(action, str) else "",
        )
    if message_type == CALL:
        if not isinstance(data[2], str):
            raise FrameError(
                FORMATION_VIOLATION, "The Action must be a string", unique_id=unique_id
            )
        return Message(
            CALL, unique_id, action=data[2], payload=data[3], storable=not _numbers.exotic
        )
    if message_type == CALLRESULT:
        return Message(CALLRESULT, unique_id, payload=data[2], storable=not _numbers.exotic)
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


_numbers = threading.local()


def _parse_float(text: str) -> float:
    # Python reads 1e999999 as inf and 1e-999999 as 0.0; PostgreSQL's jsonb refuses both
    # (numeric overflow: exponents beyond about 16,000, more digits than 16,383 after the
    # point). Such a frame is logged with its raw text and no parsed payload (Message.storable).
    if len(text) > 300:
        _numbers.exotic = True
    else:
        _, e, exponent = text.lower().partition("e")
        if e and len(exponent.lstrip("+-")) > 4:
            _numbers.exotic = True
    return float(text)


_decode = json.JSONDecoder(parse_float=_parse_float).decode


def _recovered_unique_id(raw: str) -> str:
    """The unique id of a CALL whose JSON does not parse, when its start reads like one."""
    match = _UNIQUE_ID_RE.match(raw)
    if match is None:
        return ""
    try:
        unique_id = json.loads(f'"{match.group(1)}"')
    except ValueError:  # an invalid escape inside the id: there is no id to answer
        return ""
    return _answerable(unique_id)


def _answerable(unique_id: str) -> str:
    """The id, when an answer can carry it back: a string of 1 to 36 characters (a lone
    surrogate goes back escaped, as the station wrote it)."""
    return unique_id if 0 < len(unique_id) <= 36 else ""


def _is_unicode(value: Any) -> bool:
    """No lone surrogate in any string of ``value`` (keys too): UTF-8 cannot carry one."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
    return True


def without_nul(value: Any) -> Any:
    """``value`` with NUL characters (valid JSON, refused by PostgreSQL's text) replaced."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    return value


def _short(value: Any, limit: int = 40) -> str:
    """A value for a description: its JSON, cut (repr of a deep list would recurse)."""
    try:
        text = json.dumps(value, default=str)
    except (ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


@cache
def _validator(schema_name: str) -> Draft4Validator:
    parse_float = Decimal if schema_name in _DECIMAL_SCHEMAS else float
    schema = json.loads(
        (SCHEMA_DIR / f"{schema_name}.json").read_text(encoding="utf-8-sig"),
        parse_float=parse_float,
    )
    return Draft4Validator(schema, format_checker=_format_checker)


def schema_error(action: str, payload: Any, *, response: bool = False) -> tuple[str, str] | None:
    """(1.6 error code, description) when the payload breaks the action's schema or OCPP's
    32-bit integers, else None."""
    name = f"{action}Response" if response else action
    try:
        return _schema_error(name, payload)
    except RecursionError:  # a payload nested too deeply to check (or to describe)
        return FORMATION_VIOLATION, f"{name}: the payload is nested too deeply to check"


def first_violation(action: str, payload: Any):
    """The schema violation of an action's request that schema_error describes (None: none,
    or too deep to check), for a message that names the field."""
    try:
        return best_match(_validator(action).iter_errors(payload))
    except RecursionError:
        return None


def _schema_error(name: str, payload: Any) -> tuple[str, str] | None:
    validator = _validator(name)
    if name in _DECIMAL_SCHEMAS:
        payload = json.loads(json.dumps(payload, default=str), parse_float=Decimal)
    error = best_match(validator.iter_errors(payload))
    if error is None:
        where = _beyond_int32(payload)
        if where is None:
            return None
        return TYPE_CONSTRAINT_VIOLATION, f"{name} {where}: not a 32-bit integer"
    where = "/".join(str(p) for p in error.absolute_path)[:80] or "payload"
    if error.validator == "type" and not error.absolute_path:
        return FORMATION_VIOLATION, f"{name}: the payload must be a JSON object"
    message = error.message if len(error.message) <= 200 else f"{error.message[:199]}…"
    return _SCHEMA_CODES.get(error.validator, FORMATION_VIOLATION), f"{name} {where}: {message}"


INT32 = range(-(2**31), 2**31)


def _beyond_int32(payload: Any, path: str = "") -> str | None:
    """Where the payload holds an integer beyond OCPP 1.6's "integer" (32 bit, signed)."""
    if isinstance(payload, dict):
        items = payload.items()
    elif isinstance(payload, list):
        items = enumerate(payload)
    else:
        return None
    for key, value in items:
        if type(value) is int:
            if value not in INT32:
                return f"{path}{key}"
        elif isinstance(value, dict | list) and value:
            where = _beyond_int32(value, f"{path}{key}/")
            if where is not None:
                return where
    return None


def dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def call_frame(unique_id: str, action: str, payload: Any) -> str:
    return dump([CALL, unique_id, action, payload])


def result_frame(unique_id: str, payload: Any) -> str:
    return dump([CALLRESULT, unique_id, payload])


def error_frame(unique_id: str, code: str, description: str, details: dict | None = None) -> str:
    return dump([CALLERROR, unique_id, code, description[:255], details or {}])
