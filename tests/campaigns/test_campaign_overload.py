"""CertLab's slowness is never the station's fault: the whole campaign on the compliant simulator,
through the real worker, Redis and daphne, while processes the test starts burn every core,
proposes Ok for every step (issue 13: step 6 once proposed Failed "Authorize CERTLAB-UNKNOWN
answered None by CertLab" on a busy machine)."""

from __future__ import annotations

import os
import sys

import pytest
from asgiref.sync import sync_to_async

from campaigns import services
from tests.campaigns.test_campaign_e2e import (  # noqa: F401 - fixtures
    ENDED,
    _campaign,
    _start,
    _wait,
    worker,
    worker_env,
)
from tests.processes import ManagedProcess

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

BURN = "while True: pass"


@pytest.fixture
def burners(tmp_path):
    """One busy-looping process per core, stopped (with their sessions) when the test ends."""
    processes = [
        ManagedProcess([sys.executable, "-c", BURN], log_path=tmp_path / f"burn-{n}.log")
        for n in range(os.cpu_count() or 2)
    ]
    for process in processes:
        process.start()
    try:
        yield processes
    finally:
        for process in processes:
            process.stop(timeout=2)


@pytest.mark.usefixtures("worker")
async def test_a_whole_campaign_on_an_overloaded_machine_proposes_ok_everywhere(lab, burners):
    assert all(p.proc.poll() is None for p in burners)  # the cores are busy for real
    await lab.start()
    campaign, qa = await _campaign(lab)
    proposed = {}
    for number in range(1, 17):
        attempt = await _start(campaign, qa, number)
        attempt = await _wait(attempt.pk, ENDED, timeout=300)
        proposed[number] = (attempt.status, attempt.proposed_verdict, attempt.proposed_text)
        await sync_to_async(services.attempt_record_verdict)(
            attempt=attempt, user=qa, verdict="ok" if attempt.proposed_verdict == "ok" else
            "failed", result_text=attempt.proposed_text,
        )  # fmt: skip
    assert all(p.proc.poll() is None for p in burners)  # still burning at the end
    failures = {n: p for n, p in proposed.items() if p[:2] != ("finished", "ok")}
    assert failures == {}, failures
    connector = lab.simulator.connectors[1]
    assert (connector.transaction, connector.status) == (None, "Available")
