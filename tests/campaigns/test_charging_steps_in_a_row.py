"""Steps 6, 7, 8, 11 and 14 one after the other on one simulator, as a campaign runs them: each
leaves the station idle (no transaction, no cable, settings restored) for the next."""

import pytest

from campaigns.engine.verdict import Proposed
from tests.campaigns.charging_lab import prepare_tags

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


async def test_the_charging_steps_pass_in_a_row_and_leave_the_station_idle(lab):
    await prepare_tags()
    simulator = await lab.start()
    for number in (6, 7, 8, 11, 14):
        run, ctx = await lab.run(number)
        assert run.proposed == Proposed.OK, (number, [r.detail for r in ctx.results])
        connector = simulator.connectors[1]
        assert (connector.transaction, connector.plugged, connector.status) == (
            None, False, "Available"
        ), number  # fmt: skip
    assert simulator.configuration.get("MeterValueSampleInterval") == "60"
    assert simulator.configuration.get("ConnectionTimeOut") == "60"
