"""Long waits a station may never end: shown while they last, ended by QA, or ended by the
engine when the station has plainly stopped answering.

A wait planned for at least ``LONG_WAIT`` seconds (an ``expect`` of a firmware status, a count
of heartbeats, a quiet window, a reconnect) is *long*. Once it has lasted ``SHOW_AFTER`` s, the
step page shows it with how long the station has been silent, and QA may end it: every long wait
then running raises ``WaitEnded`` ("QA ended the wait after N s of silence"), which the runner
turns into not-observed checks for the criteria the step had not decided yet.

"Plainly stopped answering" is defined as: during a long wait, the station is connected, has sent
nothing at all for ``silence_limit`` s, and then leaves a harmless question unanswered for the
call timeout: a GetConfiguration of HeartbeatInterval (read-only, Core profile, no effect on what
any step watches), which OCPP requires it to answer. Silence alone proves nothing (a station may
rightly say nothing for minutes), and a station that is not connected is the connection monitor's
business (the runner's reconnect timeout). A station that answers the question is alive: its
silence clock starts again. The long waits then running raise ``StationGone``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from campaigns.engine.port import StationGone

logger = logging.getLogger(__name__)

LONG_WAIT = 5.0  # s: a wait planned at least this long can be shown and ended
SHOW_AFTER = 2.0  # s a long wait has lasted before the page shows it (most end in ms)
TICK = 0.5  # s between the watch's looks


class WaitEnded(Exception):
    """QA ended a long wait: what it waited for is not observed."""


@dataclass
class Wait:
    id: int
    what: str
    started: datetime
    started_at: float  # monotonic
    seconds: float
    criteria: tuple[str, ...] = ()  # what the wait decides, besides criteria not checked yet
    stop: BaseException | None = field(default=None)

    def shown(self, silent_since: datetime) -> dict:
        return {
            "id": self.id,
            "what": self.what,
            "started": self.started.isoformat(),
            "until": (self.started + timedelta(seconds=self.seconds)).isoformat(),
            "silent_since": silent_since.isoformat(),
        }


Probe = Callable[[], Awaitable[bool | None]]  # True answered, False unanswered, None offline


class WaitWatch:
    """The long waits of one step, what the page is shown of them, and the silence probe."""

    def __init__(
        self,
        *,
        station_id: str,
        silence_limit: float,
        call_timeout: float,
        probe: Probe,
        wake: Callable[[], None],
        publish: Callable[[dict | None], Awaitable[None]] | None = None,
    ) -> None:
        self.station_id = station_id
        self.silence_limit = silence_limit
        self.call_timeout = call_timeout
        self._probe = probe
        self._wake = wake
        self._publish = publish
        self._ids = itertools.count(1)
        self.active: dict[int, Wait] = {}
        self.shown: int | None = None
        self.last_heard = datetime.now(UTC)
        self._heard_at = _now()
        self.probes = 0

    # --- the step's side ----------------------------------------------------------------------
    def heard(self) -> None:
        """The station sent a frame (a call, an answer, an error): it is not silent."""
        self.last_heard, self._heard_at = datetime.now(UTC), _now()

    def silent_for(self) -> float:
        return max(0.0, _now() - self._heard_at)

    @contextlib.contextmanager
    def waiting(
        self, what: str, seconds: float, criteria: Sequence[str] = ()
    ) -> Iterator[Wait | None]:
        if not what or seconds < LONG_WAIT:
            yield None
            return
        wait = Wait(next(self._ids), what, datetime.now(UTC), _now(), seconds, tuple(criteria))
        self.active[wait.id] = wait
        try:
            yield wait
        finally:
            self.active.pop(wait.id, None)

    @staticmethod
    def check(wait: Wait | None) -> None:
        if wait is not None and wait.stop is not None:
            raise wait.stop

    # --- QA's side ----------------------------------------------------------------------------
    def end(self, wait_id: int) -> str | None:
        """QA ended the wait shown as ``wait_id``: every long wait now running ends, as not
        observed. Returns the reason, or None when that wait is over already."""
        if wait_id not in self.active:
            return None
        what = self.active[wait_id].what
        reason = (
            f"QA ended the wait after {self.silent_for():.0f} s of silence (waiting for {what})"
        )
        self._stop_all(WaitEnded(reason))
        return reason

    def _stop_all(self, error: BaseException) -> None:
        # The runner leaves these not observed even where earlier checks passed (a criterion
        # half-seen is not seen).
        error.criteria = tuple(dict.fromkeys(c for w in self.active.values() for c in w.criteria))
        for wait in self.active.values():
            wait.stop = wait.stop or error
        self._wake()

    # --- the watch ----------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            await asyncio.sleep(TICK)
            try:
                await self._show()
                await self._ask_if_silent()
            except asyncio.CancelledError:
                raise
            except Exception:  # the watch is a help; the step's own limits still hold
                logger.exception("wait watch of %s", self.station_id)

    def current(self) -> Wait | None:
        """The wait to show: the oldest long wait that has lasted SHOW_AFTER s."""
        due = [w for w in self.active.values() if _now() - w.started_at >= SHOW_AFTER]
        return min(due, key=lambda w: w.id) if due else None

    async def _show(self) -> None:
        wait = self.current()
        wait_id = wait.id if wait else None
        if wait_id == self.shown:
            return
        self.shown = wait_id
        if self._publish is not None:
            await self._publish(wait.shown(self.last_heard) if wait else None)

    async def _ask_if_silent(self) -> None:
        if not self.active or self.silence_limit <= 0:
            return
        silent = self.silent_for()
        if silent < self.silence_limit:
            return
        asked_at = _now()
        self.probes += 1
        answered = await self._probe()
        if answered:
            self.heard()
        elif answered is False and self._heard_at < asked_at and self.active:
            self._stop_all(StationGone(
                f"{self.station_id} stopped answering: nothing from it for {silent:.0f} s, then "
                f"a GetConfiguration went unanswered for {self.call_timeout:.0f} s"
            ))  # fmt: skip


def _now() -> float:
    return time.monotonic()
