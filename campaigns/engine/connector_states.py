"""The OCPP 1.6 connector state machine (specification section 4.9), and judging a sequence of
StatusNotifications by it.

Section 4.9's table lists which status transitions a connector may make (A2: Available to
Preparing, C6: Charging to Finishing …). A station need not report every state it passes
through: MinimumStatusDuration (and a fast state machine) hides a short Preparing or Finishing.
So a sequence is judged transition by transition:

- allowed: the table lists it, or the status is repeated (a repeated notification, for example
  with another errorCode, is allowed);
- unexpected: the table does not list it, but one unreported transient state (Preparing,
  Finishing, SuspendedEV, SuspendedEVSE) between the two would make it allowed; OCTT asks the
  tester to judge such notifications, so CertLab flags them for QA;
- forbidden: not possible even then (Charging to Reserved, Available to Finishing on connector
  0 …): a failure.

Connector 0, the Charge Point itself, knows only Available, Unavailable and Faulted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from campaigns.engine.context import StepContext
    from campaigns.engine.frames import Frame

# The table's order: rows A..I are the status before, columns 1..9 the status after ("A3":
# Available to Charging). Keep it: the cell ids below and in the result texts depend on it.
STATUSES = ("Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing",
            "Reserved", "Unavailable", "Faulted")  # fmt: skip
STATION_STATUSES = frozenset({"Available", "Unavailable", "Faulted"})  # connector 0
CHARGING_STATES = ("Charging", "SuspendedEV", "SuspendedEVSE")  # a transaction runs
HIDEABLE = ("Preparing", "Finishing", "SuspendedEV", "SuspendedEVSE")

# Section 4.9's filled cells, row by row as the specification prints them (checked against
# OCPP 1.6 edition 2 section 4.9 as reproduced by open-source charge points and Central Systems
# that encode it; see tests/campaigns/test_connector_states.py). Empty cells are not transitions
# of OCPP 1.6: B2..I9 on the diagonal, and for instance A6 (Available to Finishing), B7/B8
# (Preparing to Reserved/Unavailable), C2/C7, F3..F7, G3..G7, H6/H7 and I9.
_ROWS = (
    "A2 A3 A4 A5 A7 A8 A9",  # Available
    "B1 B3 B4 B5 B6 B9",  # Preparing
    "C1 C4 C5 C6 C8 C9",  # Charging
    "D1 D3 D5 D6 D8 D9",  # SuspendedEV
    "E1 E3 E4 E6 E8 E9",  # SuspendedEVSE
    "F1 F2 F8 F9",  # Finishing
    "G1 G2 G8 G9",  # Reserved
    "H1 H2 H3 H4 H5 H9",  # Unavailable
    "I1 I2 I3 I4 I5 I6 I7 I8",  # Faulted
)
CELLS = frozenset(cell_id for row in _ROWS for cell_id in row.split())


def cell(previous: str, status: str) -> str:
    """The id of a transition's cell in the table ("A3" for Available to Charging)."""
    return "ABCDEFGHI"[STATUSES.index(previous)] + str(STATUSES.index(status) + 1)


# For each status, the statuses it may change to (the table's filled cells, by row).
ALLOWED: dict[str, frozenset[str]] = {
    before: frozenset(after for after in STATUSES if cell(before, after) in CELLS)
    for before in STATUSES
}


class Transition(StrEnum):
    ALLOWED = "allowed"
    UNEXPECTED = "unexpected"
    FORBIDDEN = "forbidden"


def judge(previous: str | None, status: str, *, connector_id: int = 1) -> Transition:
    """One transition; ``previous`` None (not known) allows any valid first status."""
    valid = STATION_STATUSES if connector_id == 0 else frozenset(STATUSES)
    if status not in valid:
        return Transition.FORBIDDEN
    if previous is None or previous == status or previous not in valid:
        return Transition.ALLOWED
    if connector_id == 0:  # the three station statuses may follow each other freely
        return Transition.ALLOWED
    if status in ALLOWED[previous]:
        return Transition.ALLOWED
    if any(status in ALLOWED[hidden] for hidden in HIDEABLE if hidden in ALLOWED[previous]):
        return Transition.UNEXPECTED
    return Transition.FORBIDDEN


@dataclass(frozen=True)
class Step:
    previous: str | None
    status: str
    kind: Transition
    index: int  # position in the judged sequence

    def describe(self) -> str:
        text = f"{self.previous or '?'} → {self.status}"
        if self.previous in STATUSES and self.status in STATUSES and self.previous != self.status:
            where = cell(self.previous, self.status)
            text += f" ({where}{'' if where in CELLS else ', an empty cell'})"
        return text


@dataclass(frozen=True)
class Judgement:
    connector_id: int
    statuses: tuple[str, ...]
    steps: tuple[Step, ...]
    start: str | None = None

    @property
    def forbidden(self) -> list[Step]:
        return [s for s in self.steps if s.kind == Transition.FORBIDDEN]

    @property
    def unexpected(self) -> list[Step]:
        return [s for s in self.steps if s.kind == Transition.UNEXPECTED]

    @property
    def allowed(self) -> bool:
        return not self.forbidden

    def path(self) -> str:
        shown = [f"({self.start})"] if self.start else []
        return " → ".join([*shown, *self.statuses]) or "none"

    def describe(self) -> str:
        text = f"Connector {self.connector_id}: {self.path()}"
        if self.forbidden:
            text += "; not possible in OCPP 1.6 (section 4.9): " + ", ".join(
                _why(s, self.connector_id) for s in self.forbidden
            )
        elif self.unexpected:
            text += (
                "; every transition possible, "
                + ", ".join(s.describe() for s in self.unexpected)
                + " only through an unreported state"
            )
        else:
            text += "; every transition allowed by OCPP 1.6 (section 4.9)"
        return text


def judge_sequence(
    statuses: Iterable[str], *, connector_id: int = 1, start: str | None = None
) -> Judgement:
    """Every transition of ``statuses`` (starting from ``start``, the status known before)."""
    seen = tuple(str(s) for s in statuses)
    steps, previous = [], start
    for index, status in enumerate(seen):
        steps.append(Step(previous, status, judge(previous, status, connector_id=connector_id),
                          index))  # fmt: skip
        if status in (STATION_STATUSES if connector_id == 0 else STATUSES):
            previous = status
    return Judgement(connector_id, seen, tuple(steps), start)


def _why(step: Step, connector_id: int) -> str:
    valid = STATION_STATUSES if connector_id == 0 else STATUSES
    if step.status not in valid:
        where = "connector 0 (the Charge Point)" if connector_id == 0 else "a connector"
        return f"{step.status!r} is not a status of {where}"
    return step.describe()


UNEXPECTED_REFERENCE = "OCPP 1.6 §4.9, OCTT §1.3"  # OCTT: the tester judges unexpected statuses


def status_before(ctx: StepContext, connector_id: int, since: int) -> str | None:
    """The connector's last reported status before history mark ``since`` (None: not seen)."""
    earlier = [f for f in ctx.frames("StatusNotification", {"connectorId": connector_id})
               if f.seq < since and isinstance(f.payload, dict)]  # fmt: skip
    return str(earlier[-1].payload.get("status")) if earlier else None


def check_statuses(
    ctx: StepContext,
    criterion: str,
    frames: Sequence[Frame],
    *,
    connector_id: int,
    key: str,
    start: str | None = None,
    reaches: Iterable[str] = (),
    what: str = "",
    finding: str = "",
) -> Judgement:
    """Judge one connector's StatusNotifications by the state machine and record it: the
    criterion fails on a transition OCPP 1.6 does not allow (or when none of ``reaches`` was
    reported); an unexpected transition is a finding flagged for QA. ``finding`` (a reference):
    the criterion's text does not ask for the statuses, so the judgement is a finding too."""
    own = [f for f in frames if isinstance(f.payload, dict)
           and str(f.payload.get("connectorId")) == str(connector_id)]  # fmt: skip
    judgement = judge_sequence([f.payload.get("status") for f in own], connector_id=connector_id,
                               start=start)  # fmt: skip
    wanted = tuple(reaches)
    missing = bool(wanted) and not set(wanted) & set(judgement.statuses)
    broken = [f for f in own if f.error]  # not "according to OCPP 1.6", whatever their status
    detail = (what + ": " if what else "StatusNotifications, ") + judgement.describe()
    if missing:
        detail += f"; never {' or '.join(wanted)}"
    if broken:
        codes = ", ".join(dict.fromkeys(f.error.split(":", 1)[0] for f in broken))
        detail += (f"; {len(broken)} of them break the OCPP 1.6 schema (CertLab answered "
                   f"{codes})")  # fmt: skip
    ok = judgement.allowed and not missing and not broken
    if finding:
        ctx.finding(criterion, ok, detail, reference=finding, evidence=own, key=key)
    else:
        ctx.check(criterion, ok, detail, evidence=own, key=key)
    if judgement.unexpected:
        ctx.finding(
            criterion,
            None,
            f"Connector {connector_id}: {', '.join(s.describe() for s in judgement.unexpected)} "
            "is not in the table of section 4.9; an unreported state in between would explain "
            "it (MinimumStatusDuration): QA to judge",
            reference=UNEXPECTED_REFERENCE,
            evidence=own,
            key=f"{key}-unexpected",
            flagged=True,
        )
    return judgement
