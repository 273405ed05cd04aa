import pytest


@pytest.fixture
def fault_env(transactional_db, collected_static, settings):
    """What every process of the distributed setup shares: the test database, the tests' Redis,
    the collected static files, and heartbeats of one second so lost work is found quickly."""
    from tests.campaigns.lab import child_environment

    return {
        **child_environment(),
        "STATIC_ROOT": collected_static,
        "CERTLAB_ATTEMPT_HEARTBEAT": "1",
    }


@pytest.fixture
def cluster(fault_env, tmp_path, settings):
    from tests.faults.distributed import distributed

    with distributed(tmp_path / "logs", fault_env) as setup:
        settings.CERTLAB_PUBLIC_HOST = "127.0.0.1"
        settings.CERTLAB_PUBLIC_HTTP_PORT = setup.http_port
        settings.CERTLAB_PUBLIC_FTP_PORT = setup.ftp_port
        settings.CERTLAB_ATTEMPT_HEARTBEAT = int(fault_env["CERTLAB_ATTEMPT_HEARTBEAT"])
        yield setup


@pytest.fixture
async def station(cluster):
    """The simulator as the station under test, connected to daphne A."""
    from tests.campaigns.lab import Lab

    lab = Lab(cluster)
    try:
        yield lab
    finally:
        await lab.stop()


@pytest.fixture
def web_pair(fault_env, tmp_path):
    """Only the two daphne processes (no workers, no FTP): faults of the web tier."""
    from tests.faults.distributed import distributed

    with distributed(tmp_path / "logs", fault_env, workers=(), ftp=False) as setup:
        yield setup
