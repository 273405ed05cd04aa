"""Running an attempt in a worker: the real station bus, prompts in the database, results
stored and announced as they happen, abort and liveness watched beside the step."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone

from campaigns.bus_port import BusPort
from campaigns.engine.context import StationInfo, StepContext
from campaigns.engine.params import LabParameters
from campaigns.engine.prompts import Answer, PromptSpec
from campaigns.engine.results import CheckResult
from campaigns.engine.runner import Ending, StepRun, run_step
from campaigns.events import attempt_changed
from campaigns.models import (
    Attempt,
    AttemptNote,
    AttemptStatus,
    Check,
    Criterion,
    CriterionResult,
    Prompt,
    PromptStatus,
)
from campaigns.sealing import attempt_seal
from campaigns.services import attempt_record_firmware_installed, lab_tags_prepare
from campaigns.steps import step_module

logger = logging.getLogger(__name__)

POLL_EVERY = 0.5  # s between looks at the database for an abort or a prompt's answer
TIME_LIMIT_MARGIN = 1.5  # the whole step may take this much longer than its longest wait
# FTP replies by which CertLab's own server refused or lost an upload (452: its disk; 451: it
# could not record the file; "could not store": its storage failed after the transfer).
LAB_SIDE_FTP_REPLIES = ("452", "451", "could not store")

ENDING_STATUS = {
    Ending.FINISHED: AttemptStatus.FINISHED,
    Ending.STATION_OFFLINE: AttemptStatus.STATION_OFFLINE,
    Ending.TIMED_OUT: AttemptStatus.TIMED_OUT,
    Ending.ABORTED: AttemptStatus.ABORTED,
    Ending.ERROR: AttemptStatus.ERROR,
    Ending.LAB_TROUBLE: AttemptStatus.ERROR,  # "Failed to run": CertLab's, not the station's
    Ending.WAIT_ENDED: AttemptStatus.FINISHED,
}


def _db(fn):
    # Outside the worker's single event-loop thread: the ORM must not run on the loop itself,
    # and thread_sensitive=False keeps it off the (possibly blocked) main thread (rule 9). The
    # loop's executor is a few threads with a persistent connection each (attempt_loop).
    return sync_to_async(_replacing_broken_connection(fn), thread_sensitive=False)


def _replacing_broken_connection(fn):
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception:
            # What Django does after a request: a connection the server dropped is closed, so
            # the thread's next call connects again instead of failing for the rest of its life.
            close_old_connections()
            raise

    return run


class DbRecorder:
    def __init__(self, attempt: Attempt) -> None:
        self.attempt_id = attempt.pk
        self.criteria = {
            c.key: c for c in Criterion.objects.filter(function=attempt.plan_item.function)
        }

    async def on_check(self, result: CheckResult) -> None:
        await _db(self._save_check)(result)
        await attempt_changed(self.attempt_id, "check")

    def _save_check(self, result: CheckResult) -> None:
        Check.objects.create(
            attempt_id=self.attempt_id,
            criterion=self.criteria[result.criterion],
            key=result.key,
            outcome=result.outcome.value,
            level=result.level.value,
            reference=result.reference,
            detail=result.detail,
            evidence=result.evidence,
            at=result.at,
        )

    async def on_note(self, text: str) -> None:
        await _db(AttemptNote.objects.create)(attempt_id=self.attempt_id, text=text)
        await attempt_changed(self.attempt_id, "note")

    async def on_wait(self, wait: dict | None) -> None:
        """The long wait the step is in (engine/waits), or None: the step page shows it."""
        await _db(Attempt.objects.filter(pk=self.attempt_id).update)(waiting=wait)
        await attempt_changed(self.attempt_id, "wait")


class DbPrompts:
    """A prompt is a row the browser shows; the step waits until someone answers it."""

    def __init__(self, attempt: Attempt) -> None:
        self.attempt_id = attempt.pk
        self.station_id = attempt.station_id

    async def ask(self, spec: PromptSpec) -> Answer:
        prompt = await _db(Prompt.objects.create)(
            attempt_id=self.attempt_id,
            text=spec.text,
            choices=list(spec.choices),
            input_label=spec.input_label,
            kind=spec.action.name if spec.action else "",
            details=spec.action.kwargs if spec.action else {},
            steps=[{"text": step.text, "seconds": step.seconds} for step in spec.steps],
            simulator_action=(
                {"name": spec.simulator.name, "kwargs": spec.simulator.kwargs}
                if spec.simulator else None
            ),
            deadline=timezone.now() + timedelta(seconds=spec.timeout),
        )  # fmt: skip
        await attempt_changed(self.attempt_id, "prompt", station_id=self.station_id)
        try:
            return await self._wait(prompt.pk, spec.timeout)
        except asyncio.CancelledError:
            await asyncio.shield(_close_prompt(prompt.pk, PromptStatus.CANCELLED))
            raise

    async def _wait(self, prompt_pk: int, timeout: float) -> Answer:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            prompt = await _db(Prompt.objects.get)(pk=prompt_pk)
            if prompt.status == PromptStatus.ANSWERED:
                return Answer(prompt.answer, prompt.answer_value)
            await asyncio.sleep(POLL_EVERY)
        await _close_prompt(prompt_pk, PromptStatus.EXPIRED)
        return Answer(None, timed_out=True)


async def _close_prompt(prompt_pk: int, status: str) -> None:
    await _db(Prompt.objects.filter(pk=prompt_pk, status=PromptStatus.OPEN).update)(status=status)
    with contextlib.suppress(Exception):
        prompt = await _db(Prompt.objects.get)(pk=prompt_pk)
        await attempt_changed(prompt.attempt_id, "prompt")


class LabFiles:
    """The file services (transfers) as a step needs them."""

    def __init__(self, *, station, update_firmware, attempt_id: int | None = None) -> None:
        self.attempt_id = attempt_id
        self.station = station
        self.update_firmware = update_firmware

    @classmethod
    def for_attempt(cls, attempt: Attempt) -> LabFiles:
        campaign = attempt.plan_item.campaign
        return cls(
            station=campaign.station,
            update_firmware=campaign.update_firmware,
            attempt_id=attempt.pk,
        )

    def firmware_location(self, scheme: str = "http") -> tuple[str, str] | None:
        from transfers.services import firmware_location

        target = self.update_firmware
        if target is None or not target.file:
            return None
        return firmware_location(station=self.station, firmware=target, protocol=scheme), (
            target.version
        )

    def diagnostics_location(self) -> str:
        from transfers.services import diagnostics_location

        return diagnostics_location(station=self.station)

    async def diagnostics_received(self, file_name: str, since: datetime) -> dict | None:
        return await _db(self._diagnostics_received)(file_name, since)

    def _diagnostics_received(self, file_name: str, since: datetime) -> dict | None:
        from transfers.selectors import diagnostics_files_for

        upload = (
            diagnostics_files_for(station=self.station, file_name=file_name, since=since)
            .filter(complete=True)
            .last()
        )
        if upload is None:
            return None
        if self.attempt_id:
            type(upload).objects.filter(pk=upload.pk, attempt_id__isnull=True).update(
                attempt_id=self.attempt_id
            )
        return {"id": upload.pk, "file_name": upload.file_name, "size": upload.size,
                "sha256": upload.sha256, "received": upload.received.isoformat()}  # fmt: skip

    async def diagnostics_refused(self, file_name: str, since: datetime) -> str | None:
        """Why CertLab's FTP server refused or lost the station's upload (its disk full, its
        storage failing), when it did: CertLab's trouble, not the station's."""
        return await _db(self._diagnostics_refused)(file_name, since)

    def _diagnostics_refused(self, file_name: str, since: datetime) -> str | None:
        from transfers.selectors import diagnostics_files_for

        failed = (
            diagnostics_files_for(station=self.station, file_name=file_name, since=since)
            .filter(complete=False)
            .last()
        )
        if failed is None or not failed.error.startswith(LAB_SIDE_FTP_REPLIES):
            return None
        return failed.error

    async def firmware_downloads(self, since: datetime) -> list[dict]:
        return await _db(self._firmware_downloads)(since)

    def _firmware_downloads(self, since: datetime) -> list[dict]:
        from transfers.selectors import firmware_downloads_for

        downloads = list(firmware_downloads_for(station=self.station, since=since))
        for download in downloads:
            if self.attempt_id and download.attempt_id is None:
                type(download).objects.filter(pk=download.pk).update(attempt_id=self.attempt_id)
        return [
            {"id": d.pk, "protocol": d.protocol, "bytes": d.bytes_sent, "complete": d.complete,
             "file_name": d.file_name, "started": d.started.isoformat(),
             "served": d.served.isoformat() if d.served else None,
             "finished": d.finished.isoformat() if d.finished else None, "error": d.error}
            for d in downloads
        ]  # fmt: skip


def station_info(attempt: Attempt) -> StationInfo:
    campaign = attempt.plan_item.campaign
    station = campaign.station
    return StationInfo(
        charge_point_id=station.charge_point_id,
        connector_count=station.charger_model.connector_count,
        vendor=station.charger_model.manufacturer.name,
        model=station.charger_model.name,
        serial_number=station.serial_number,
        iccid=station.iccid,
        firmware_version=_running_firmware(attempt),
        is_simulator=station.is_simulator,
        capabilities=station.capabilities,
    )


def _running_firmware(attempt: Attempt) -> str:
    """What the station should run: the attempt's own record, else the campaign's now."""
    firmware = attempt.firmware or attempt.plan_item.campaign.current_firmware
    return firmware.version if firmware else ""


def time_limit(params: LabParameters) -> float:
    """Long enough for a step's longest chain of waits; a limit all the same."""
    longest = max(params.firmware_timeout, params.reconnect_timeout * 2, params.prompt_timeout * 3)
    return longest * TIME_LIMIT_MARGIN + params.offline_seconds


@transaction.atomic
def _claim(attempt_id: int) -> Attempt | None:
    attempt = Attempt.objects.select_for_update().filter(pk=attempt_id).first()
    if attempt is None or attempt.status != AttemptStatus.QUEUED:
        return None  # already run, or redelivered after a lost worker: never run twice
    now = timezone.now()
    if attempt.abort_requested:
        attempt.status, attempt.ended = AttemptStatus.ABORTED, now
        attempt.ending_reason = "Aborted before it started."
        attempt.save(update_fields=["status", "ended", "ending_reason"])
        attempt_seal(attempt)
        return None
    attempt.status, attempt.started, attempt.heartbeat = AttemptStatus.RUNNING, now, now
    attempt.save(update_fields=["status", "started", "heartbeat"])
    lab_tags_prepare(params=LabParameters.from_dict(attempt.parameters))
    return Attempt.objects.select_related(
        "station",
        "plan_item__function",
        "plan_item__campaign__station__charger_model__manufacturer",
        "plan_item__campaign__firmware",
        "plan_item__campaign__update_firmware",
        "plan_item__campaign__firmware_after_update",
        "firmware",
    ).get(pk=attempt_id)


async def execute_attempt(attempt_id: int) -> str | None:
    """Run one attempt to its end; returns the final status (None when there was nothing to do)."""
    attempt = await _db(_claim)(attempt_id)
    if attempt is None:
        await attempt_changed(attempt_id, "status")
        return None
    await attempt_changed(attempt_id, "status")
    params = LabParameters.from_dict(attempt.parameters)
    step = step_module(attempt.plan_item.function.number)
    ctx = StepContext(
        port=BusPort(attempt.station.charge_point_id),
        station=await _db(station_info)(attempt),
        params=params,
        prompts=DbPrompts(attempt),
        files=await _db(LabFiles.for_attempt)(attempt),
        recorder=await _db(DbRecorder)(attempt),
    )
    running = asyncio.create_task(run_step(step, ctx, time_limit=time_limit(params),
                                          strict=attempt.strict))  # fmt: skip
    watcher = asyncio.create_task(_watch(attempt_id, running, ctx))
    try:
        run = await running
    finally:
        watcher.cancel()
    await _db(_finish)(attempt_id, ctx, run)
    await attempt_changed(attempt_id, "status")
    return ENDING_STATUS[run.ending].value


async def _watch(attempt_id: int, running: asyncio.Task, ctx: StepContext) -> None:
    """Beat for liveness, cancel the step when QA ask to abort, end a wait QA gave up on."""
    loop = asyncio.get_running_loop()
    last_beat = loop.time()
    ended: int | None = None
    while not running.done():
        await asyncio.sleep(POLL_EVERY)
        # A database error (a dropped connection, a server out of connections) is ridden out:
        # the next look tries again, and the beat stays due until it is written. Letting it end
        # this watcher would stop the beats, and the sweep would call a live attempt
        # interrupted.
        try:
            stop, end_wait = await _db(_look)(attempt_id)
        except Exception:
            logger.warning("attempt %s: could not look for an abort", attempt_id, exc_info=True)
            continue
        if stop:
            running.cancel()
            return
        if end_wait and end_wait != ended:
            ended = end_wait
            reason = ctx.end_wait(end_wait)
            if reason:
                await ctx.note(f"{reason}.")
        if loop.time() - last_beat >= settings.CERTLAB_ATTEMPT_HEARTBEAT:
            try:
                await _db(_beat)(attempt_id)
            except Exception:
                logger.warning("attempt %s: liveness beat not written", attempt_id, exc_info=True)
            else:
                last_beat = loop.time()


def _look(attempt_id: int) -> tuple[bool, int | None]:
    """An abort, or a sweep that found this worker silent (a stalled loop) and ended it; and
    the id of a long wait QA gave up on."""
    return Attempt.objects.filter(pk=attempt_id).annotate(
        stop=ExpressionWrapper(
            Q(abort_requested=True) | ~Q(status=AttemptStatus.RUNNING),
            output_field=BooleanField(),
        )
    ).values_list("stop", "end_wait_requested").first() or (True, None)


def _beat(attempt_id: int) -> None:
    Attempt.objects.filter(pk=attempt_id).update(heartbeat=timezone.now())


@transaction.atomic
def _finish(attempt_id: int, ctx: StepContext, run: StepRun) -> None:
    attempt = Attempt.objects.select_for_update().get(pk=attempt_id)
    if attempt.status != AttemptStatus.RUNNING:
        # A sweep ended it while this worker was silent (campaigns.recovery): that stands.
        logger.warning("attempt %s already ended as %s; its run is not stored", attempt_id,
                       attempt.status)  # fmt: skip
        return
    criteria = {c.key: c for c in Criterion.objects.filter(function=attempt.plan_item.function)}
    stored = set(attempt.checks.values_list("key", flat=True))
    Check.objects.bulk_create(
        Check(attempt=attempt, criterion=criteria[r.criterion], key=r.key, outcome=r.outcome.value,
              level=r.level.value, reference=r.reference, detail=r.detail, evidence=r.evidence,
              at=r.at)
        for r in ctx.results
        if r.key not in stored
    )  # fmt: skip
    CriterionResult.objects.bulk_create(
        CriterionResult(attempt=attempt, criterion=criteria[key], outcome=outcome.value)
        for key, outcome in run.outcomes.items()
    )
    Prompt.objects.filter(attempt=attempt, status=PromptStatus.OPEN).update(
        status=PromptStatus.CANCELLED
    )
    attempt.status = ENDING_STATUS[run.ending]
    attempt.ended = timezone.now()
    attempt.ending_reason = run.reason
    attempt.proposed_verdict = run.proposed.value
    attempt.proposed_text = run.result_text
    attempt.attachments = _jsonable(ctx.attachments)
    attempt.waiting = None
    attempt.save()
    attempt_seal(attempt)
    if installed := attempt.attachments.get("firmware_installed"):
        attempt_record_firmware_installed(attempt=attempt, version=installed["after"])


def _jsonable(value):
    import json

    return json.loads(json.dumps(value, default=str))
