"""The step context: the few verbs a step script is written in.

    reply = await ctx.call("ClearCache")
    ctx.check("15.a", reply.status == "Accepted", f"ClearCache answered {reply.describe()}",
              evidence=reply.frames)

Every wait has a limit, every check leaves a result with its evidence, and a station that
disappears raises ``StationGone`` out of the step, which the runner turns into a clear verdict.
A long wait can be ended by QA (``WaitEnded``) or by the engine when the station has plainly
stopped answering (``StationGone``); see engine/waits.

What the verbs leave lives by concept beside this module: a call's reply and a reboot
(replies.py), a prompt and its answer (prompts.py), the checks and their ledger (results.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from campaigns.engine import needs
from campaigns.engine.blocks import Blocks, criterion_of, describe_frames, while_open
from campaigns.engine.frames import Frame, Where, fits, where_text
from campaigns.engine.params import LabParameters
from campaigns.engine.port import (
    BadResponse,
    CallRejected,
    CallTimedOut,
    LabTrouble,
    StationGone,
    StationPort,
)
from campaigns.engine.prompts import Answer, PromptChannel, PromptSpec, SimulatorAction, TimedAction
from campaigns.engine.replies import CallReply, Reboot
from campaigns.engine.results import CheckResult, Ledger
from campaigns.engine.waits import WaitWatch
from stations.capabilities import Capabilities

# s CertLab's own answer to a station's call may take to reach the step (its handler's database
# work, the frame log, the stream) before the step gives up on it as CertLab's trouble.
LAB_WAIT = 60.0
OWN_FRAMES_WAIT = 15.0  # s for the logged frames of our own call to follow its reply


@dataclass(frozen=True)
class StationInfo:
    charge_point_id: str
    connector_count: int
    vendor: str
    model: str
    serial_number: str
    iccid: str
    firmware_version: str
    is_simulator: bool = False
    capabilities: Capabilities = field(default_factory=Capabilities)  # the vendor's declaration


class Recorder(Protocol):
    """Live persistence hooks: the engine stores and streams; tests may pass None."""

    async def on_check(self, result: CheckResult) -> None: ...

    async def on_note(self, text: str) -> None: ...


class FileServices(Protocol):
    def firmware_location(self, scheme: str = "http") -> tuple[str, str] | None:
        """(location URI, version) of the firmware to update to, or None without a file."""
        ...

    def diagnostics_location(self) -> str: ...

    async def diagnostics_received(self, file_name: str, since: datetime) -> dict | None: ...

    async def firmware_downloads(self, since: datetime) -> list[dict]: ...


class StepContext:
    """One attempt's view of the station, the operator and the lab."""

    def __init__(
        self,
        *,
        port: StationPort,
        station: StationInfo,
        params: LabParameters,
        prompts: PromptChannel | None = None,
        files: FileServices | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        self.port = port
        self.station = station
        self.params = params
        self.prompts = prompts
        self.files = files
        self.recorder = recorder
        self.history: list[Frame] = []
        self.notes: list[str] = []
        self.attachments: dict[str, Any] = {}
        self.summary_text = ""
        self.started = datetime.now(UTC)
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task | None = None
        self._pending: set[asyncio.Task] = set()
        self._open = False
        self._blocks = Blocks()
        # The results verbs are the ledger's (campaigns/engine/results.py).
        self.ledger = Ledger(lacks=self.lacks, blocks=self._blocks, publish=self._publish)
        self.results = self.ledger.results
        self.check = self.ledger.check
        self.finding = self.ledger.finding
        self.unexpected = self.ledger.unexpected
        self.lab_side = self.ledger.lab_side
        self.criteria_passed = self.ledger.criteria_passed
        self.waits = WaitWatch(
            station_id=station.charge_point_id,
            silence_limit=params.silence_limit,
            call_timeout=params.call_timeout,
            probe=self._probe,
            wake=lambda: self._spawn(self._wake()),
            publish=getattr(recorder, "on_wait", None),
        )
        self._watch: asyncio.Task | None = None

    # --- lifetime ---------------------------------------------------------------------------
    async def __aenter__(self) -> StepContext:
        await self.port.open()  # subscribed before anything is triggered: nothing is missed
        self._reader = asyncio.create_task(self._read())
        self._watch = asyncio.create_task(self.waits.run())
        self._open = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._open = False
        for task in (self._reader, self._watch):
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self.waits.shown is not None and self.waits._publish is not None:
            with contextlib.suppress(Exception):
                await self.waits._publish(None)
        for task in self._pending:
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
        await self.port.close()

    async def _read(self) -> None:
        async for event in self.port.frames():
            frame = Frame.from_event(event, seq=len(self.history))
            if frame.direction == "in":
                self.waits.heard()
            async with self._changed:
                self.history.append(frame)
                self._changed.notify_all()

    def _publish(self, result: CheckResult) -> None:
        if self.recorder and self._open:
            self._spawn(self.recorder.on_check(result))

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    # --- talking to the station -------------------------------------------------------------
    async def call(self, action: str, payload: dict | None = None, *, timeout: float | None = None
                   ) -> CallReply:  # fmt: skip
        """Send a call; a CALLERROR, a bad answer or a timeout is a reply too, not an exception.
        Only a station that is not there raises (StationGone)."""
        unique_id = f"cl-{uuid.uuid4().hex[:16]}"
        reply = CallReply(action=action)
        wait = timeout or self.params.call_timeout
        try:
            reply.payload = await self.port.call(
                action, payload or {}, timeout=wait, unique_id=unique_id
            )
        except CallRejected as error:
            reply.error_code, reply.error_description = error.code, error.description
        except CallTimedOut:
            reply.timed_out = True
        except BadResponse as error:
            reply.payload, reply.schema_error = error.payload, error.error
        reply.request = await self._frame_with(unique_id, "out")
        reply.response = await self._frame_with(unique_id, "in") if not reply.timed_out else None
        return reply

    async def _frame_with(self, unique_id: str, direction: str) -> Frame | None:
        """The logged frame of our own call: it arrives on the stream just after the reply."""
        found = await self._wait_for(
            lambda f: f.unique_id == unique_id and f.direction == direction, 0,
            timeout=OWN_FRAMES_WAIT,
        )  # fmt: skip
        return found[0] if found else None

    async def send_raw(self, frame: str, *, timeout: float | None = None) -> dict:
        return await self.port.send_raw(frame, timeout=timeout or self.params.call_timeout)

    async def simulate(self, action: SimulatorAction) -> bool:
        """Ask the built-in simulator to do a local action (DataTransfer remote control)."""
        reply = await self.call("DataTransfer", action.data_transfer())
        return reply.status == "Accepted"

    # --- watching the frames ----------------------------------------------------------------
    def mark(self) -> int:
        """A point in the frame history; ``since=ctx.mark()`` looks only at what follows."""
        return len(self.history)

    def frames(
        self,
        action: str | None = None,
        where: Where = None,
        *,
        since: int = 0,
        direction: str = "in",
        message_type: str | None = "CALL",
    ) -> list[Frame]:
        return [f for f in self.history[since:] if fits(f, action, where, direction, message_type)]

    async def _wait_for(
        self, test, since: int, *, timeout: float, count: int = 1, what: str = "",
        criteria: Sequence[str] = (),
    ) -> list[Frame]:  # fmt: skip
        """Frames after ``since`` passing ``test``; a wait with ``what`` (what the station is
        expected to do) is a long wait when long enough: shown, and ended by QA or silence,
        which leaves ``criteria`` (and those not checked yet) not observed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        with self.waits.waiting(what, timeout, criteria) as wait:
            async with self._changed:
                while True:
                    self.waits.check(wait)
                    found = [f for f in self.history[since:] if test(f)]
                    remaining = deadline - loop.time()
                    if len(found) >= count or remaining <= 0:
                        return found
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), remaining)

    async def _wake(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _probe(self) -> bool | None:
        """The silence question (engine/waits): True answered, False unanswered, None offline."""
        if not await self.port.is_connected():
            return None
        try:
            await self.port.call("GetConfiguration", {"key": ["HeartbeatInterval"]},
                                 timeout=self.params.call_timeout,
                                 unique_id=f"cl-probe-{uuid.uuid4().hex[:10]}")  # fmt: skip
        except CallTimedOut:
            return False
        except StationGone:
            return None
        except (CallRejected, BadResponse):
            return True
        return True

    def end_wait(self, wait_id: int) -> str | None:
        """QA gave up on the long wait shown as ``wait_id`` (engine/waits.WaitWatch.end)."""
        return self.waits.end(wait_id)

    async def expect(
        self,
        action: str,
        where: Where = None,
        *,
        within: float,
        since: int | None = None,
        direction: str = "in",
        message_type: str = "CALL",
        criteria: Sequence[str] = (),
    ) -> Frame | None:
        """The first matching frame after ``since`` (default: now), or None after ``within`` s.
        ``criteria``: what this wait decides, left not observed if QA end it (engine/waits)."""
        start = self.mark() if since is None else since
        found = await self._wait_for(
            lambda f: fits(f, action, where, direction, message_type), start, timeout=within,
            what=f"a {action}" + where_text(where), criteria=criteria,
        )  # fmt: skip
        return found[0] if found else None

    def answered(self, frame: Frame) -> Frame | None:
        """CertLab's answer to the station's call ``frame`` among the frames seen so far (its
        timestamp is when CertLab sent it), or None; no waiting (``answer_to`` waits)."""
        return next(
            (f for f in self.history[frame.seq + 1:] if f.unique_id == frame.unique_id
             and f.direction != frame.direction and f.message_type in ("CALLRESULT", "CALLERROR")),
            None,
        )  # fmt: skip

    async def answer_to(self, frame: Frame | None, *, within: float | None = None) -> Frame | None:
        """CertLab's own answer (CALLRESULT or CALLERROR) to a station's call, as the Central
        System sent it: the transactionId of a StartTransaction, the idTagInfo of an Authorize.

        Taken from the frame stream, else from the frame log the Central System wrote (the port's
        ``logged_answer``), waiting up to ``within`` (LAB_WAIT) s: CertLab always answers, so a
        missing answer is CertLab's trouble and raises LabTrouble (the step ends with every
        unproven criterion not observed, never failed). None only for ``frame`` None; a station
        that left before CertLab could answer raises StationGone."""
        if frame is None:
            return None

        def answer_or_gone(f: Frame) -> bool:
            return (f.unique_id == frame.unique_id and f.direction != frame.direction
                    and f.message_type in ("CALLRESULT", "CALLERROR")) or (
                f.message_type == "DISCONNECTED" or f.connection_id not in (
                    None, frame.connection_id))  # fmt: skip

        wait = within or LAB_WAIT
        found = await self._wait_for(answer_or_gone, frame.seq + 1, timeout=wait / 2)
        answer = next((f for f in found if f.unique_id == frame.unique_id), None)
        logged = getattr(self.port, "logged_answer", None)
        if answer is None and logged is not None:
            event = await logged(frame.unique_id, frame.direction, wait / 2)
            answer = Frame.from_event(event, seq=frame.seq) if event else None
        if answer is not None:
            return answer
        if found:
            raise StationGone(
                f"{self.station.charge_point_id} left before CertLab answered its "
                f"{frame.action} of {frame.timestamp:%H:%M:%S}"
            )
        raise LabTrouble(
            f"CertLab's own answer to the station's {frame.action} of "
            f"{frame.timestamp:%H:%M:%S} ({frame.unique_id}) was not seen within {wait:.0f} s"
        )

    async def expect_count(
        self, action: str, where: Where = None, *, count: int, within: float,
        since: int | None = None, criteria: Sequence[str] = (),
    ) -> list[Frame]:  # fmt: skip
        """Wait until ``count`` matching frames have arrived (or ``within`` s); return them."""
        start = self.mark() if since is None else since
        return await self._wait_for(
            lambda f: fits(f, action, where, "in", "CALL"), start, timeout=within, count=count,
            what=f"{count} {action}" + where_text(where), criteria=criteria,
        )  # fmt: skip

    async def collect(
        self, action: str | None, where: Where = None, *, during: float, since: int | None = None,
        direction: str = "in", message_type: str | None = "CALL", criteria: Sequence[str] = (),
    ) -> list[Frame]:  # fmt: skip
        """Every matching frame over a whole window (for "no StartTransaction within 30 s")."""
        start = self.mark() if since is None else since
        watched = f"{during:.0f} s of watching " + (f"for {action}" if action else "the frames")
        await self._wait_for(lambda f: False, start, timeout=during, what=watched,
                             criteria=criteria)  # fmt: skip
        return self.frames(action, where, since=start, direction=direction,
                           message_type=message_type)  # fmt: skip

    async def wait_connected(self, *, within: float) -> bool:
        return await self._wait_state(True, within)

    async def wait_disconnected(self, *, within: float) -> bool:
        return await self._wait_state(False, within)

    async def _wait_state(self, connected: bool, within: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        what = "the station to connect" if connected else "the station to drop its connection"
        with self.waits.waiting(what, within) as wait:
            while loop.time() < deadline:
                self.waits.check(wait)
                if await self.port.is_connected() == connected:
                    return True
                await asyncio.sleep(0.2)
        return await self.port.is_connected() == connected

    async def ensure_connected(self, *, within: float | None = None) -> None:
        if not await self.wait_connected(within=within or self.params.reconnect_timeout):
            raise StationGone(f"{self.station.charge_point_id} is not connected")

    async def wait_reboot(self, *, since: int, within: float) -> Reboot:
        """A BootNotification after ``since`` and whether the connection dropped before it.
        Polling can miss a quick reboot, so a boot on another connection than the frames before
        it also proves the drop."""
        watcher = asyncio.create_task(self.wait_disconnected(within=within))
        try:
            boot = await self.expect("BootNotification", since=since, within=within)
        finally:
            seen = watcher.done() and not watcher.cancelled() and not watcher.exception()
            dropped = seen and watcher.result()
            watcher.cancel()
        if boot is not None and boot.connection_id is not None:
            dropped = dropped or any(
                f.connection_id not in (None, boot.connection_id)
                for f in self.history[since : boot.seq]
            )
        return Reboot(dropped=bool(dropped), boot=boot)

    # --- the operator -----------------------------------------------------------------------
    async def prompt(
        self,
        text: str,
        choices: Sequence[str] = ("Done", "Cannot do"),
        *,
        input_label: str = "",
        timeout: float | None = None,
        simulator: SimulatorAction | None = None,
        needed_by: Iterable[str] = (),
        steps: Sequence[TimedAction] = (),
    ) -> Answer:
        """Ask the operator to do something by hand. On the built-in simulator in fast mode the
        simulator does it and the prompt answers itself.

        ``steps``: several timed actions in order; the page shows each with its own countdown,
        and the operator has their time on top of the prompt's own.

        ``needed_by`` names what depends on the action: criteria ("7.b") or single checks by key
        ("6.c#no-start"). When it did not happen ("Cannot do", expired), those are "not observed"
        with the reason, from now on (campaigns/engine/blocks.py). An action only criteria the
        station's declaration rules out need is not asked for at all."""
        needed_by = tuple(needed_by)
        if skipped := self._not_applicable(text, needed_by):
            await self.note(f"Not asked: {skipped.why_not}.")
            return skipped
        asked = self.mark()
        if steps:
            timeout = (timeout or self.params.prompt_timeout) + sum(s.seconds for s in steps)
        answer = await self._ask(text, choices, input_label, timeout, simulator, tuple(steps))
        answer = replace(answer, text=text, asked=asked, answered=self.mark(),
                         timeout=timeout or self.params.prompt_timeout)  # fmt: skip
        if not answer.done:
            await self._not_done(answer, needed_by)
        return answer

    def _not_applicable(self, text: str, needed_by: tuple[str, ...]) -> Answer | None:
        reasons = [self.lacks(criterion_of(item)) for item in needed_by]
        if not needed_by or not all(reasons):
            return None
        now = self.mark()
        skipped = Answer(None, text=text, asked=now, answered=now, not_applicable=reasons[0])
        self._blocks.add(needed_by, skipped.why_not)
        return skipped

    async def _ask(self, text, choices, input_label, timeout, simulator, steps=()) -> Answer:
        spec = PromptSpec(
            steps=steps,
            text=text,
            choices=tuple(choices),
            input_label=input_label,
            timeout=timeout or self.params.prompt_timeout,
            simulator=simulator if self.station.is_simulator else None,
            action=simulator,
        )
        if spec.simulator and self.params.answer_prompts_on_simulator:
            await self.note(f"Simulator does: {text}")
            done = await self.simulate(spec.simulator)
            return Answer("Done" if done else "Cannot do", value=spec.simulator.answer_value)
        if self.prompts is None:
            return Answer(None, timed_out=True)
        try:
            return await asyncio.wait_for(self.prompts.ask(spec), spec.timeout + 5)
        except TimeoutError:
            return Answer(None, timed_out=True)

    # --- the station's declaration -----------------------------------------------------------
    def lacks(self, key: str) -> str | None:
        """Why a criterion ("6.b") or a part of a check ("1.a/iccid") does not apply to this
        station by its declaration (campaigns/engine/needs.py), or None when it applies."""
        return needs.lacks(self.station.capabilities, key)

    async def _not_done(self, answer: Answer, needed_by: tuple[str, ...]) -> None:
        seen = while_open(self.history, answer.asked, answer.answered)
        also = (
            f" While it was open the station sent {describe_frames(seen)}: not taken as the "
            "answer, QA to judge."
            if seen
            else ""
        )
        for item in needed_by:
            if item not in self._blocks:
                key = item if "#" in item else f"{item}#not-done"
                self.check(criterion_of(item), None, f"Not observed: {answer.why_not}.{also}",
                           evidence=seen, key=key)  # fmt: skip
        self._blocks.add(needed_by, answer.why_not)
        if not needed_by:
            await self.note(f"Not done: {answer.why_not}.{also}")

    def blocked(self, item: str) -> str:
        """Why a criterion ("7.b") or check key cannot be scored any more ('' when it can)."""
        return self._blocks.reason(criterion_of(item), item)

    # --- results (campaigns/engine/results.py: check, finding, unexpected, lab_side) ---------
    async def note(self, text: str) -> None:
        self.notes.append(text)
        if self.recorder:
            await self.recorder.on_note(text)

    def summary(self, text: str) -> None:
        """The proposed result text, in the seed reports' style ("Ok, Configuration (67)")."""
        self.summary_text = text

    def attach(self, name: str, data: Any) -> None:
        self.attachments[name] = data
