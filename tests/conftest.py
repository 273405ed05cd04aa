import pytest
from django.test import Client

from tests.factories import UserFactory, VendorFactory
from tests.processes import test_database_url


@pytest.fixture
def qa_user(db):
    return UserFactory(username="qa")


@pytest.fixture
def vendor_user(db):
    return VendorFactory(username="vendor")


@pytest.fixture
def qa_client(qa_user) -> Client:
    client = Client()
    client.force_login(qa_user)
    return client


@pytest.fixture
def vendor_client(vendor_user) -> Client:
    client = Client()
    client.force_login(vendor_user)
    return client


@pytest.fixture
def mark_online():
    """``mark_online(station)``: the station reads as connected in the registry (Redis), as a
    live daphne process holding its socket marks it; ``mark_online(station, False)`` unmarks."""
    from stations import registry

    holder = "test-holder"
    client = registry.sync_client()
    client.set(registry.HOLDER_PREFIX + holder, "1", ex=600)
    marked = []

    def mark(station, on: bool = True) -> None:
        if on:
            client.hset(registry.ONLINE_KEY, station.charge_point_id, f"specific.{holder}!x")
            marked.append(station.charge_point_id)
        else:
            client.hdel(registry.ONLINE_KEY, station.charge_point_id)

    yield mark
    if marked:
        client.hdel(registry.ONLINE_KEY, *marked)
    client.delete(registry.HOLDER_PREFIX + holder)


@pytest.fixture(autouse=True)
def _fast_test_settings(settings, request):
    """The manifest storage needs collectstatic; unit tests render pages without running it.
    Password hashing is deliberately slow; unit tests log users in by the hundred (processes a
    test starts keep the real hashers, so their users keep real hashes)."""
    if request.node.get_closest_marker("e2e") is None and "child_env" not in request.fixturenames:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory) -> str:
    """Static files collected once per run, as the run command and the image do."""
    import os
    import subprocess
    import sys

    from tests.processes import ROOT

    root = tmp_path_factory.mktemp("static")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "STATIC_ROOT": str(root)},
        check=True,
    )
    return str(root)


@pytest.fixture
def child_env(transactional_db, tmp_path, collected_static) -> dict[str, str]:
    """Environment for real CertLab processes started by a test: the test's database and Redis."""
    import os

    return {
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "CERTLAB_DATA_DIR": str(tmp_path / "data"),
        "STATIC_ROOT": collected_static,
        "DEBUG": "false",
        "DJANGO_SETTINGS_MODULE": "certlab.settings",
    }


@pytest.fixture
def daphne_server(child_env, tmp_path):
    """A real daphne serving CertLab on a free port; yields its base URL."""
    from tests.processes import daphne, free_port, wait_for_port

    port = free_port()
    with daphne(port, log_path=tmp_path / "daphne.log", env=child_env) as server:
        wait_for_port(port, timeout=60)
        server.base_url = f"http://127.0.0.1:{port}"
        server.port = port
        yield server


@pytest.fixture
def browser_page(monkeypatch):
    """A Playwright page in Debian's chromium (Playwright cannot download its own browser here)."""
    from playwright.sync_api import sync_playwright

    # Sync Playwright keeps an event loop in this thread; the test's own ORM calls stay
    # synchronous and safe, so Django's async-context guard would only be a false alarm.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    from tests.chromium import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(15000)
        try:
            yield page
        finally:
            browser.close()


@pytest.fixture
async def chromium_page():
    """A page of Playwright's async API in Debian's chromium, for tests on the lab's servers
    (their fixtures are async); closed however the test ends."""
    from playwright.async_api import async_playwright

    from tests.chromium import CHROMIUM, CHROMIUM_ARGS

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.set_default_timeout(30000)
            yield page
        finally:
            await browser.close()
