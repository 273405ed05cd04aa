"""Steps against the compliant simulator and against each defect that targets them, through the
real endpoint, the real station bus and the real FTP server."""

import pytest

from campaigns.engine.results import Outcome
from campaigns.engine.verdict import Proposed
from stations.capabilities import Capabilities

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


async def test_boot_notification_passes_on_the_compliant_simulator(lab):
    await lab.start()
    run, ctx = await lab.run(1)
    assert run.proposed == Proposed.OK, run.result_text
    assert ctx.results[0].evidence[0]["action"] == "BootNotification"


async def test_boot_without_serial_fails_criterion_1a(lab):
    await lab.start(defects=("boot_without_serial",))
    run, _ = await lab.run(1)
    assert run.outcomes == {"1.a": Outcome.FAILED}
    assert "lacks chargePointSerialNumber" in run.result_text


@pytest.mark.parametrize("modem", [True, False])
async def test_a_station_without_modem_fails_1a_only_if_it_declares_one(lab, modem):
    await lab.start(defects=("no_modem",))
    declared = Capabilities(connector_count=2, has_modem=modem)
    run, _ = await lab.run(1, capabilities=declared)
    if modem:
        assert run.outcomes == {"1.a": Outcome.FAILED}
        assert run.result_text == "Failed: BootNotification lacks iccid"
    else:
        assert run.proposed == Proposed.OK, run.result_text


async def test_clear_cache_passes_on_the_compliant_simulator(lab):
    await lab.start()
    run, _ = await lab.run(15)
    assert run.proposed == Proposed.OK, run.result_text


async def test_clear_cache_rejected_fails_criterion_15a(lab):
    await lab.start(defects=("clear_cache_rejected",))
    run, _ = await lab.run(15)
    assert run.outcomes == {"15.a": Outcome.FAILED}
