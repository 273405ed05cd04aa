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


@pytest.fixture(scope="session")
def lab_servers(django_db_setup, django_db_blocker, tmp_path_factory, collected_static):
    """A real daphne (the OCPP endpoint and the pages) and the real FTP server on the test
    database."""
    from tests.campaigns.lab import LabServers, child_environment
    from tests.processes import free_port

    with django_db_blocker.unblock():
        env = {**child_environment(), "STATIC_ROOT": collected_static}
    servers = LabServers(http_port=free_port(), ftp_port=free_port())
    with servers.running(tmp_path_factory.mktemp("lab"), env):
        yield servers


@pytest.fixture
async def lab(lab_servers, transactional_db, settings):
    """The station under test on the simulator; steps run for real through the station bus."""
    from tests.campaigns.lab import Lab

    settings.CERTLAB_PUBLIC_HOST = "127.0.0.1"
    settings.CERTLAB_PUBLIC_HTTP_PORT = lab_servers.http_port
    settings.CERTLAB_PUBLIC_FTP_PORT = lab_servers.ftp_port
    lab = Lab(lab_servers)
    yield lab
    await lab.stop()


@pytest.fixture
def worker(lab_servers, tmp_path):
    """A real Celery worker on the lab's servers (browser tests run steps through it)."""
    from tests.campaigns.test_campaign_e2e import celery_worker, child_environment

    env = {**child_environment(), "CERTLAB_PUBLIC_HTTP_PORT": str(lab_servers.http_port),
           "CERTLAB_PUBLIC_FTP_PORT": str(lab_servers.ftp_port)}  # fmt: skip
    with celery_worker(log_path=tmp_path / "worker.log", env=env) as process:
        process.wait_for_log("ready.", timeout=60)
        yield process
