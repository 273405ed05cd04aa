"""Local actions on a running simulator: from code, from stdin lines, and from the Central System.

The same actions are reachable three ways:

1. Python: ``await sim.plug_in(1)``, ``await sim.present_tag(1, "ABC")`` ... (see ACTIONS).
2. A line on the ``simulate`` command's stdin: ``plug 1``, ``unplug 1``, ``tag 1 ABC123``,
   ``suspend 1``, ``resume 1``, ``fault 1 GroundFailure``, ``fault 0 OtherError``, ``clear 1``,
   ``offline 30``, ``power-cycle``, ``help``. With several stations, prefix the station id:
   ``CP-2 plug 1`` (without a prefix the line goes to every station).
3. Remote control by the Central System (the dashboard's "do it on the simulator" buttons):

   DataTransfer.req from the Central System with
     vendorId  = "CertLab.Simulator"
     messageId = the action name: plug_in, unplug, present_tag, ev_suspend, ev_resume,
                 evse_suspend, evse_resume, fault, clear_fault, go_offline, power_cycle
     data      = a JSON object (as a string) of keyword arguments, e.g.
                 '{"connector_id": 1, "id_tag": "ABC"}'; may be omitted when there are none.
   Answer DataTransfer.conf status:
     Accepted          the action is valid; it runs right after the answer is sent
     UnknownVendorId   vendorId is not "CertLab.Simulator"
     UnknownMessageId  messageId is not one of the actions above
     Rejected          data is not a JSON object, misses a required argument, has an unknown
                       one, or a value of the wrong type (error_code must be a 1.6
                       ChargePointErrorCode other than NoError)
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ocpp.v16.enums import ChargePointErrorCode

if TYPE_CHECKING:
    from simulator.station import Simulator

VENDOR_ID = "CertLab.Simulator"


@dataclass(frozen=True)
class Param:
    name: str
    kind: type
    required: bool = True
    choices: frozenset[str] | None = None


ERROR_CODES = frozenset(code.value for code in ChargePointErrorCode) - {"NoError"}


_CONNECTOR = Param("connector_id", int)
ACTIONS: dict[str, tuple[Param, ...]] = {
    "plug_in": (_CONNECTOR,),
    "unplug": (_CONNECTOR,),
    "present_tag": (_CONNECTOR, Param("id_tag", str)),
    "ev_suspend": (_CONNECTOR,),
    "ev_resume": (_CONNECTOR,),
    "evse_suspend": (_CONNECTOR,),
    "evse_resume": (_CONNECTOR,),
    "fault": (
        _CONNECTOR,
        Param("error_code", str, choices=ERROR_CODES),
        Param("info", str, required=False),
    ),
    "clear_fault": (_CONNECTOR,),
    "go_offline": (Param("seconds", float),),
    "power_cycle": (),
}

# Short words for the command line; each maps to an action above.
ALIASES = {
    "plug": "plug_in",
    "tag": "present_tag",
    "suspend": "ev_suspend",
    "resume": "ev_resume",
    "evse-suspend": "evse_suspend",
    "evse-resume": "evse_resume",
    "clear": "clear_fault",
    "offline": "go_offline",
    "power-cycle": "power_cycle",
}

HELP = """Commands (prefix a station id when running several, e.g. "CP-2 plug 1"):
  plug <connector>                 cable plugged in
  unplug <connector>               cable removed (stops a transaction: EVDisconnected)
  tag <connector> <idTag>          present an RFID tag (starts or stops a transaction)
  suspend <connector>              the EV suspends charging (SuspendedEV)
  resume <connector>               the EV resumes charging
  evse-suspend / evse-resume <c>   the charger suspends / resumes (SuspendedEVSE)
  fault <connector> <errorCode> [info]  raise a fault (connector 0: the whole station)
  clear <connector>                clear the fault
  offline <seconds>                drop the connection and stay offline that long
  power-cycle                      lose power: transactions end (PowerLoss), reboot
  status                           print the station's state
  help                             this text"""


class CommandError(ValueError):
    """A line or DataTransfer that does not name a valid action with valid arguments."""


def validate(action: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Check (and coerce ints to floats where allowed) the arguments of an action."""
    if action not in ACTIONS:
        raise CommandError(f"unknown action {action!r}")
    params = {param.name: param for param in ACTIONS[action]}
    extra = set(kwargs) - set(params)
    if extra:
        raise CommandError(f"unknown argument(s) {', '.join(sorted(extra))}")
    clean: dict[str, Any] = {}
    for name, param in params.items():
        if name not in kwargs:
            if param.required:
                raise CommandError(f"missing argument {name}")
            continue
        value = kwargs[name]
        if param.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, param.kind) or isinstance(value, bool):
            raise CommandError(f"{name} must be {param.kind.__name__}")
        if param.choices is not None and value not in param.choices:
            raise CommandError(f"{name} must be one of {', '.join(sorted(param.choices))}")
        clean[name] = value
    return clean


def data_transfer_status(vendor_id: str, message_id: str | None, data: str | None) -> str:
    """The DataTransfer.conf status for a Central System's remote-control request."""
    if vendor_id != VENDOR_ID:
        return "UnknownVendorId"
    if message_id not in ACTIONS:
        return "UnknownMessageId"
    try:
        kwargs = json.loads(data) if data else {}
        if not isinstance(kwargs, dict):
            return "Rejected"
        validate(message_id, kwargs)
    except (ValueError, CommandError):
        return "Rejected"
    return "Accepted"


def parse_line(line: str, station_ids: list[str]) -> tuple[str | None, str, dict[str, Any]]:
    """Parse a stdin line into (station id or None for all, action, kwargs)."""
    words = shlex.split(line)
    if not words:
        raise CommandError("empty line")
    station = None
    if words[0] in station_ids and len(words) > 1:
        station, words = words[0], words[1:]
    verb = words[0].lower()
    if verb in ("help", "status"):
        return station, verb, {}
    action = ALIASES.get(verb, verb)
    if action not in ACTIONS:
        raise CommandError(f"unknown command {verb!r}; type help")
    params = ACTIONS[action]
    args = words[1:]
    if len(args) > len(params) or len(args) < sum(p.required for p in params):
        raise CommandError(f"usage: {verb} " + " ".join(f"<{p.name}>" for p in params))
    kwargs: dict[str, Any] = {}
    for param, text in zip(params, args, strict=False):
        try:
            kwargs[param.name] = param.kind(text)
        except ValueError as error:
            raise CommandError(f"{param.name}: {error}") from error
    return station, action, kwargs


async def perform(sim: Simulator, action: str, kwargs: dict[str, Any]) -> None:
    """Run a validated action on a station."""
    method: Callable[..., Awaitable[Any]] = getattr(sim, action)
    await method(**validate(action, kwargs))
