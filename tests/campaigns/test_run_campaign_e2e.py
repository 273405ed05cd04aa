"""run_campaign for real: a real daphne, Celery worker and simulator, the command in a process of
its own. Unattended (every prompt done on the simulator) and half-attended: the command waits
while scripts/charger_actions.py, through the API, does the charger's local actions (here on the
simulator's own control panel, its standard input, as a lab would drive a real charger's)."""

from __future__ import annotations

import asyncio
import os
from xml.etree import ElementTree as ET

import pytest
from asgiref.sync import sync_to_async

from api.tokens import token_create
from campaigns.models import Attempt, AuditEntry, Prompt
from stations import registry
from stations.models import Station
from tests.campaigns import test_campaign_e2e
from tests.campaigns.lab import IDENTITY, _station_records, child_environment
from tests.factories import UserFactory
from tests.processes import PYTHON, ROOT, ManagedProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

# The real Celery worker of the campaign end-to-end tests.
worker_env = test_campaign_e2e.worker_env
worker = test_campaign_e2e.worker


async def _run_campaign(env: dict, log, *args: str, timeout: float = 480) -> tuple[int, str]:
    """The command in a process of its own, its output in ``log`` as it goes."""
    with open(log, "wb") as out:
        process = await asyncio.create_subprocess_exec(
            PYTHON,
            "manage.py",
            "run_campaign",
            *args,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise AssertionError(f"run_campaign did not end:\n{log.read_text()}") from None
    return process.returncode, log.read_text()


async def test_run_campaign_runs_the_chosen_steps_unattended_and_writes_junit(
    lab, worker, worker_env, tmp_path
):
    await lab.start()
    await sync_to_async(UserFactory)(username="qa-cli")
    junit = tmp_path / "junit.xml"
    code, out = await _run_campaign(
        worker_env,
        tmp_path / "run.log",
        "--station",
        lab.station.charge_point_id,
        "--user",
        "qa-cli",
        "--rehearsal",
        "--param",
        "answer_prompts_on_simulator=false",
        "--steps",
        "1,6,7",
        "--answer",
        "*=simulate",
        "--record-verdicts",
        "--junit",
        str(junit),
    )
    assert code == 0, out
    assert "3 of 3 step(s) proposed Ok." in out
    for number in (1, 6, 7):
        assert any(
            line.split()[:1] == [str(number)] and "finished" in line for line in out.splitlines()
        ), out
    cases = ET.parse(junit).getroot().findall("testsuite/testcase")
    assert [c.get("name").split()[0] for c in cases] == [
        "1.a",
        "6.a",
        "6.b",
        "6.c",
        "7.a",
        "7.b",
        "7.c",
    ]
    assert all(c.find("failure") is None and c.find("error") is None for c in cases)
    prompts = await sync_to_async(list)(
        Prompt.objects.filter(attempt__station=lab.station).select_related("answered_by")
    )
    assert prompts, "steps 6 and 7 ask for local actions"
    assert {p.status for p in prompts} == {"answered"}
    assert {p.answered_by.username for p in prompts} == {"qa-cli"}
    assert "present_tag" in {p.kind for p in prompts}
    verdicts = await sync_to_async(list)(
        Attempt.objects.filter(station=lab.station).values_list("final_verdict", flat=True)
    )
    assert verdicts == ["ok", "ok", "ok"]
    # run_campaign's verdicts are in the campaign's history like any other (campaigns.audit).
    recorded = await sync_to_async(list)(
        AuditEntry.objects.filter(station=lab.station, what="verdict.verdict").values_list(
            "actor__username", "after"
        )
    )
    assert recorded == [("qa-cli", "Ok")] * 3


async def test_a_script_does_the_chargers_local_actions_while_run_campaign_waits(
    lab, worker, worker_env, tmp_path
):
    station = await sync_to_async(_station_records)("LAB-SCRIPT-01")
    await sync_to_async(Station.objects.filter(pk=station.pk).update)(is_simulator=False)
    qa = await sync_to_async(UserFactory)(username="qa-script")
    _record, token = await sync_to_async(token_create)(user=qa, name="charger actions")
    panel = tmp_path / "simulator-stdin"
    os.mkfifo(panel)
    # Held open for writing here too: the simulator never reads an end of file between lines.
    panel_fd = os.open(panel, os.O_RDWR)
    env = {**child_environment(), **worker_env}
    simulator = ManagedProcess(
        [
            PYTHON,
            "manage.py",
            "simulate",
            "--url",
            lab.url + station.charge_point_id,
            "--fast",
            "--connectors",
            "2",
            "--vendor",
            IDENTITY["vendor"],
            "--model",
            IDENTITY["model"],
            "--serial",
            IDENTITY["serial"],
            "--iccid",
            IDENTITY["iccid"],
            "--firmware",
            IDENTITY["firmware"],
        ],
        log_path=tmp_path / "simulator.log",
        env=env,
        stdin=panel_fd,
    )
    script = ManagedProcess(
        [
            PYTHON,
            "scripts/charger_actions.py",
            "--station",
            station.charge_point_id,
            "--actions",
            "scripts/simulator-actions.json",
            "--url",
            f"http://127.0.0.1:{lab.servers.http_port}",
            "--token",
            token,
        ],
        log_path=tmp_path / "script.log",
        env={**env, "SIMULATOR_STDIN": str(panel)},
    )
    try:
        simulator.start()
        for _ in range(300):
            if await registry.channel_of(station.charge_point_id):
                break
            await asyncio.sleep(0.1)
        script.start()
        await asyncio.to_thread(script.wait_for_log, "Following the prompts", 60)
        code, out = await _run_campaign(
            worker_env,
            tmp_path / "run.log",
            "--station",
            station.charge_point_id,
            "--user",
            "qa-script",
            "--rehearsal",
            "--param",
            "answer_prompts_on_simulator=false",
            "--steps",
            "6,7",
        )
    finally:
        script.stop()
        simulator.stop()
        os.close(panel_fd)
        for _ in range(50):
            if await registry.channel_of(station.charge_point_id) is None:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
    assert code == 0, out + "\n--- script:\n" + script.log()
    assert "waiting for a person or a script" in out
    prompts = await sync_to_async(list)(
        Prompt.objects.filter(attempt__station=station).select_related("answered_by")
    )
    assert prompts and {p.answer for p in prompts} == {"Done"}, script.log()
    assert {p.answered_by.username for p in prompts} == {"qa-script"}
    assert not any(p.simulator_action for p in prompts), "a real charger's prompts"
    assert "answered Done" in script.log()
