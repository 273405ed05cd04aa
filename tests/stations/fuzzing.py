"""Random and mutated OCPP-J frames, and the judge of CertLab's answers to them.

One generator for the hypothesis suite (``tests/stations/test_fuzz_frames.py``, driven by
hypothesis's reproducible randoms) and for ``bench/fuzz.py``: valid frames of every
station-initiated action, calls a station must not send, responses (to ids CertLab never used)
and errors, each then perhaps mutated at the structure level (ids, types, payload values,
numbers jsonb cannot hold, escapes, nesting) or at the text level (cut, spliced, flipped
bytes), sent as text, as text that is not UTF-8, or as a binary frame; always under the size cap.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from stations import ocpp_j

NOW = "2026-12-01T12:00:00Z"
VALID_PAYLOADS: dict[str, list[dict]] = {
    "Authorize": [{"idTag": "TAG-1"}],
    "BootNotification": [
        {"chargePointVendor": "Fuzz", "chargePointModel": "F1"},
        {
            "chargePointVendor": "Fuzz",
            "chargePointModel": "F1",
            "chargePointSerialNumber": "SN-1",
            "firmwareVersion": "1.0",
            "iccid": "8931",
            "meterType": "M",
        },
    ],
    "DataTransfer": [{"vendorId": "fuzz", "messageId": "m", "data": "d"}],
    "DiagnosticsStatusNotification": [{"status": "Uploaded"}],
    "FirmwareStatusNotification": [{"status": "Installed"}],
    "Heartbeat": [{}],
    "MeterValues": [
        {
            "connectorId": 1,
            "transactionId": 1,
            "meterValue": [
                {
                    "timestamp": NOW,
                    "sampledValue": [
                        {"value": "12.5", "measurand": "Energy.Active.Import.Register"},
                        {"value": "230", "measurand": "Voltage", "unit": "V", "phase": "L1"},
                    ],
                }
            ],
        }
    ],
    "StartTransaction": [
        {"connectorId": 1, "idTag": "TAG-1", "meterStart": 0, "timestamp": NOW},
    ],
    "StatusNotification": [
        {"connectorId": 1, "errorCode": "NoError", "status": "Available"},
        {
            "connectorId": 0,
            "errorCode": "OtherError",
            "status": "Faulted",
            "info": "i",
            "timestamp": NOW,
            "vendorId": "v",
            "vendorErrorCode": "e",
        },
    ],
    "StopTransaction": [
        {"transactionId": 1, "meterStop": 10, "timestamp": NOW, "reason": "Local"},
        {
            "transactionId": 1,
            "meterStop": 10,
            "timestamp": NOW,
            "idTag": "TAG-1",
            "transactionData": [{"timestamp": NOW, "sampledValue": [{"value": "10"}]}],
        },
    ],
}
# Calls only a Central System sends: a station sending one is answered NotSupported.
CS_ONLY = [{"Reset": {"type": "Soft"}}, {"ClearCache": {}}, {"UnlockConnector": {"connectorId": 1}}]
ERROR_CODES_16 = frozenset(
    {
        "NotImplemented",
        "NotSupported",
        "InternalError",
        "ProtocolError",
        "SecurityError",
        "FormationViolation",
        "PropertyConstraintViolation",
        "OccurenceConstraintViolation",
        "TypeConstraintViolation",
        "GenericError",
    }
)
_WEIRD_NUMBERS = [
    "1e999999",
    "-1e999999",
    "1e-999999",
    "NaN",
    "Infinity",
    "-Infinity",
    "-0.0",
    "2147483648",
    "-2147483649",
    "32768",
    "40000",
    "65536",
    "-1",
    "9" * 40,
    "9" * 4400,  # longer than Python converts
    "1." + "0" * 20000 + "1",  # more digits after the point than jsonb keeps
]
_WEIRD_STRINGS = [
    '"\\u0000"',
    '"a\\u0000b"',
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"\\x41"',  # an invalid escape
    '"\\u12"',
    '"tab\\there"',
    '"\u00e9\u4e2d\U0001f600"',
    '"\\"quoted\\""',
    '"back\\\\slash"',
]


_MARK = "\u0001fuzz-slot\u0001"


@dataclass
class Fuzzed:
    """One frame to send: ``data`` (bytes for a binary frame or a text frame not UTF-8)."""

    kind: str  # "text", "binary", "bad-utf8"
    data: str | bytes
    label: str  # what was done to it, for a failure's message
    unique_id: str = ""  # the id it was made with (a mutation may have changed it)
    action: str = ""  # the CALL's action it was made as

    @property
    def size(self) -> int:
        return len(self.data if isinstance(self.data, bytes) else self.data.encode())


class FrameFuzzer:
    """Frames from ``rng``; ``cap`` bytes at most each."""

    def __init__(self, rng: random.Random, *, cap: int = 65536, prefix: str = "f") -> None:
        self.rng = rng
        self.cap = cap
        self.prefix = prefix
        self.count = 0

    # --- the frames --------------------------------------------------------------------------

    def frame(self) -> Fuzzed:
        rng = self.rng
        self.count += 1
        uid = f"{self.prefix}{self.count}"
        roll = rng.random()
        if roll < 0.55:
            action = rng.choice(list(VALID_PAYLOADS))
            payload = json.loads(json.dumps(rng.choice(VALID_PAYLOADS[action])))
            label = f"CALL {action}"
            items = [2, uid, action, payload]
        elif roll < 0.62:
            ((action, payload),) = rng.choice(CS_ONLY).items()
            label = f"CS-only CALL {action}"
            items = [2, uid, action, payload]
        elif roll < 0.72:
            label = "CALLRESULT"
            items = [3, uid, self.json_value(2)]
        elif roll < 0.80:
            label = "CALLERROR"
            items = [4, uid, rng.choice(sorted(ERROR_CODES_16)), "d", {}]
        else:
            label = "random JSON"
            items = self.json_value(4)
        text = self.encode(items, label)
        if rng.random() < 0.75:
            text, how = self.mutate_text(text, items)
            label = f"{label} / {how}"
        fuzzed = self.dress(text, label)
        fuzzed.unique_id = uid
        fuzzed.action = items[2] if label.startswith("CALL ") else ""
        return fuzzed

    def dress(self, text: str, label: str) -> Fuzzed:
        rng = self.rng
        roll = rng.random()
        data = text.encode("utf-8", "surrogatepass")
        if len(data) > self.cap:
            data = data[: self.cap]
            text = data.decode("utf-8", "ignore")
            label = f"{label} / cut to the cap"
        if roll < 0.04:
            return Fuzzed("binary", data, f"{label} / binary frame")
        if roll < 0.08:
            at = rng.randrange(len(data) + 1)
            bad = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"])
            return Fuzzed(
                "bad-utf8", (data[:at] + bad + data[at:])[: self.cap], f"{label} / bad UTF-8"
            )
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:  # a lone surrogate written raw: not UTF-8 text
            return Fuzzed("bad-utf8", data, f"{label} / bad UTF-8")
        return Fuzzed("text", text, label)

    def encode(self, items: Any, label: str) -> str:
        try:
            return json.dumps(items, separators=(",", ":"))
        except (ValueError, TypeError, RecursionError):
            return json.dumps(["unencodable", label])

    # --- mutations ---------------------------------------------------------------------------

    def mutate_text(self, text: str, items: Any) -> tuple[str, str]:
        rng = self.rng
        ops = [
            self._replace_id,
            self._replace_type,
            self._replace_action,
            self._replace_value,
            self._nested_value,
            self._weird_number,
            self._weird_string,
            self._deep_nesting,
            self._big_payload,
            self._drop_or_add_element,
            self._cut,
            self._splice,
            self._flip,
            self._wrap,
        ]
        op = rng.choice(ops)
        return op(text, items), op.__name__.strip("_").replace("_", " ")

    def _structure(self, items: Any, index: int, value_text: str) -> str:
        """``items`` written as JSON with element ``index`` replaced by raw ``value_text``."""
        if not isinstance(items, list) or len(items) <= index:
            return f"[{value_text}]"
        parts = [self.encode(item, "") for item in items]
        parts[index] = value_text
        return f"[{','.join(parts)}]"

    def _replace_id(self, text: str, items: Any) -> str:
        choice = self.rng.choice(
            [
                '{"a":1}',
                "[]",
                "null",
                "7",
                '""',
                '"' + "i" * 80 + '"',
                '"\\ud800"',
                '"\\x"',
                "1e999999",
            ]
        )
        return self._structure(items, 1, choice)

    def _replace_type(self, text: str, items: Any) -> str:
        choice = self.rng.choice(
            ["0", "1", "5", "2.0", '"2"', "true", "null", "[]", '{"t":2}', "-2"]
        )
        return self._structure(items, 0, choice)

    def _replace_action(self, text: str, items: Any) -> str:
        choice = self.rng.choice(
            [
                '"FlyToTheMoon"',
                '""',
                "3",
                "null",
                '{"x":1}',
                '"' + "A" * 100 + '"',
                '"Heart\\u0000beat"',
            ]
        )
        return self._structure(items, 2, choice)

    def _payload_index(self, items: Any) -> int:
        if isinstance(items, list) and items and items[0] == 2:
            return 3
        return 2

    def _replace_value(self, text: str, items: Any) -> str:
        """A payload field set to another type, removed, or a field added."""
        index = self._payload_index(items)
        if not isinstance(items, list) or len(items) <= index or not isinstance(items[index], dict):
            return self._structure(items, index, self.encode(self.json_value(3), ""))
        payload = dict(items[index])
        rng = self.rng
        if payload and rng.random() < 0.4:
            payload.pop(rng.choice(list(payload)))
        elif payload and rng.random() < 0.7:
            payload[rng.choice(list(payload))] = self.json_value(2)
        else:
            payload[rng.choice(["extra", "connectorId", "idTag", "status", ""])] = self.json_value(
                2
            )
        return self._structure(items, index, self.encode(payload, ""))

    def _value_slot(self, items: Any, value_text: str) -> str:
        """``items`` with one value anywhere inside the payload (or the payload itself)
        replaced by raw ``value_text``."""
        index = self._payload_index(items)
        if not isinstance(items, list) or len(items) <= index:
            return self._structure(items, index, value_text)
        items = json.loads(json.dumps(items))
        slots = []  # (container, key) of every value inside the payload
        stack = [(items, index)]
        while stack:
            container, key = stack.pop()
            slots.append((container, key))
            value = container[key]
            if isinstance(value, dict):
                stack.extend((value, k) for k in value)
            elif isinstance(value, list):
                stack.extend((value, i) for i in range(len(value)))
        container, key = self.rng.choice(slots)
        container[key] = _MARK
        return self.encode(items, "").replace(json.dumps(_MARK), value_text, 1)

    def _nested_value(self, text: str, items: Any) -> str:
        """Any value inside the payload set to another type or a long string."""
        value = self.json_value(2) if self.rng.random() < 0.7 else "v" * self.rng.randrange(300)
        return self._value_slot(items, self.encode(value, ""))

    def _weird_number(self, text: str, items: Any) -> str:
        return self._value_slot(items, self.rng.choice(_WEIRD_NUMBERS))

    def _weird_string(self, text: str, items: Any) -> str:
        if self.rng.random() < 0.3:
            return self._structure(items, 1, self.rng.choice(_WEIRD_STRINGS))
        return self._value_slot(items, self.rng.choice(_WEIRD_STRINGS))

    def _deep_nesting(self, text: str, items: Any) -> str:
        depth = self.rng.choice([50, 500, 990, 1500, 5000, 30000])
        opener, closer = self.rng.choice([("[", "]"), ('{"a":', "}")])
        value = opener * depth + "1" + closer * depth
        return self._value_slot(items, value)

    def _big_payload(self, text: str, items: Any) -> str:
        size = self.rng.choice([1000, 20000, self.cap - 200])
        return self._value_slot(items, json.dumps("x" * max(0, size)))

    def _drop_or_add_element(self, text: str, items: Any) -> str:
        if not isinstance(items, list):
            return "[]"
        items = list(items)
        if items and self.rng.random() < 0.5:
            items.pop(self.rng.randrange(len(items)))
        else:
            items.insert(self.rng.randrange(len(items) + 1), self.json_value(1))
        return self.encode(items, "")

    def _cut(self, text: str, items: Any) -> str:
        return text[: self.rng.randrange(len(text) + 1)]

    def _splice(self, text: str, items: Any) -> str:
        rng = self.rng
        at = rng.randrange(len(text) + 1)
        junk = rng.choice(["\\", '"', ",", "]", "}", "[", "{", "\x00", "\n", "\t", "\\u", "é", " "])
        if rng.random() < 0.5 and text:
            return text[:at] + junk + text[at + 1 :]
        return text[:at] + junk + text[at:]

    def _flip(self, text: str, items: Any) -> str:
        data = bytearray(text.encode())
        if data:
            data[self.rng.randrange(len(data))] ^= 1 << self.rng.randrange(8)
        return data.decode("utf-8", "surrogateescape")

    def _wrap(self, text: str, items: Any) -> str:
        return self.rng.choice(
            [f" \n\t{text}\r\n", f"\ufeff{text}", f"{text}{text}", f"{text}x", ""]
        )

    # --- random JSON -------------------------------------------------------------------------

    def json_value(self, depth: int) -> Any:
        rng = self.rng
        roll = rng.random()
        if depth <= 0 or roll < 0.5:
            return rng.choice(
                [
                    None,
                    True,
                    False,
                    0,
                    -1,
                    2**31,
                    rng.randint(-(10**12), 10**12),
                    rng.random() * 1e6,
                    "",
                    "s",
                    "\u00e9",
                    "\x00",
                    "\ud800",  # a lone surrogate: sent escaped
                    "x" * rng.randrange(50),
                ]
            )
        if roll < 0.75:
            return [self.json_value(depth - 1) for _ in range(rng.randrange(4))]
        return {
            rng.choice(["a", "idTag", "status", "connectorId", "\x00"]): self.json_value(depth - 1)
            for _ in range(rng.randrange(4))
        }


# --- the judge ---------------------------------------------------------------------------------


def answer_problem(text: str, batch: list[Fuzzed]) -> str | None:
    """What is wrong with ``text`` as CertLab's answer to a frame of ``batch``, or None when it
    is valid OCPP-J 1.6: a CALLRESULT (valid for its action) or a CALLERROR with a 1.6 code,
    carrying a unique id one of the frames held."""
    try:
        data = json.loads(text)
    except ValueError:
        return "not JSON"
    if not isinstance(data, list) or not data or data[0] not in (3, 4):
        return "not a CALLRESULT or CALLERROR"
    if len(data) < 2 or not isinstance(data[1], str) or not data[1]:
        return "no unique id"
    uid = data[1]
    escaped = json.dumps(uid)[1:-1]
    # The frames that may be the one answered (a flipped bit can make one id another's).
    candidates = [f for f in batch if f.unique_id == uid or _holds(f, uid, escaped)]
    if not candidates:
        return f"answers a unique id no frame held: {uid[:60]!r}"
    if data[0] == 3:
        if len(data) != 3 or not isinstance(data[2], dict):
            return "a CALLRESULT is [3, id, {payload}]"
        problems = []
        for action in {f.action for f in candidates}:
            if action not in VALID_PAYLOADS:
                return None  # made as something else: no schema to hold the answer to
            problem = ocpp_j.schema_error(action, data[2], response=True)
            if problem is None:
                return None
            problems.append(f"{action} answer breaks its schema: {problem[1]}")
        return "; ".join(problems)
    if len(data) != 5 or not isinstance(data[3], str) or not isinstance(data[4], dict):
        return "a CALLERROR is [4, id, code, description, {details}]"
    if data[2] not in ERROR_CODES_16:
        return f"error code {data[2]!r} is not OCPP-J 1.6's"
    return None


def _holds(fuzzed: Fuzzed, uid: str, escaped: str) -> bool:
    data = fuzzed.data
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return uid in text or escaped in text
