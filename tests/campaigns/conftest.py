import pytest

from campaigns.engine.context import StationInfo, StepContext
from campaigns.engine.params import LabParameters
from tests.campaigns.scripted import ScriptedStation

STATION = StationInfo(
    charge_point_id="SCRIPTED-1",
    connector_count=2,
    vendor="HICONICS",
    model="HK-180-1000-AE2",
    serial_number="HK18010000001",
    iccid="8931440400000000001",
    firmware_version="V112_72900_08001",
)
GOOD_BOOT = {
    "chargePointVendor": "HICONICS",
    "chargePointModel": "HK-180-1000-AE2",
    "chargePointSerialNumber": "HK18010000001",
    "iccid": "8931440400000000001",
    "firmwareVersion": "V112_72900_08001",
}


@pytest.fixture
def scripted():
    return ScriptedStation()


@pytest.fixture
def make_ctx(scripted):
    def make(**param_overrides) -> StepContext:
        params = LabParameters.fast(answer_prompts_on_simulator=False, **param_overrides)
        return StepContext(port=scripted, station=STATION, params=params)

    return make
