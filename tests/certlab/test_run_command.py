"""The README's first command, end to end: `make run` brings the embedded lab up on free ports,
people log in over HTTP, and Ctrl-C stops every process it started."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from tests.processes import ROOT, ManagedProcess, free_port

pytestmark = pytest.mark.e2e


def _embedded_env(tmp_path, **ports: int) -> dict[str, str | None]:
    env: dict[str, str | None] = {
        **os.environ,
        "DATABASE_URL": None,
        "REDIS_URL": None,
        "DJANGO_SETTINGS_MODULE": None,
    }
    env.update(
        CERTLAB_DATA_DIR=str(tmp_path / "data"),
        CERTLAB_HTTP_PORT=str(ports["http"]),
        CERTLAB_REDIS_PORT=str(ports["redis"]),
        CERTLAB_FTP_PORT=str(ports["ftp"]),
        CERTLAB_FTP_PASSIVE_PORTS=f"{ports['passive']}-{ports['passive'] + 4}",
    )
    return env


class Browser:
    """Just enough of a browser: cookies, CSRF tokens, redirects."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> tuple[int, str, str]:
        with self.opener.open(self.base + path, timeout=10) as response:
            return response.status, response.geturl(), response.read().decode()

    def login(self, username: str, password: str) -> tuple[int, str, str]:
        _, _, page = self.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        data = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token}
        ).encode()
        request = urllib.request.Request(
            self.base + "/accounts/login/", data=data, headers={"Referer": self.base + "/"}
        )
        with self.opener.open(request, timeout=10) as response:
            return response.status, response.geturl(), response.read().decode()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes; only a running process is an orphan.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_make_run_starts_the_lab_logs_people_in_and_stops_cleanly(tmp_path):
    ports = {"http": free_port(), "redis": free_port(), "ftp": free_port(), "passive": 31200}
    lab = ManagedProcess(
        ["make", "--no-print-directory", "run"],
        log_path=tmp_path / "run.log",
        env=_embedded_env(tmp_path, **ports),
    )
    with lab:
        lab.wait_for_log("CertLab is up.", timeout=180)
        log = lab.log()
        assert f"http://127.0.0.1:{ports['http']}/" in log
        assert "qa / certlab-qa" in log
        started = {name: int(pid) for name, pid in re.findall(r"started (\w+) \(pid (\d+)\)", log)}
        assert {"redis", "daphne", "worker", "ftp", "simulator"} <= started.keys()

        qa = Browser(f"http://127.0.0.1:{ports['http']}")
        status, url, page = qa.login("qa", "certlab-qa")
        assert status == 200
        assert url.endswith("/")
        assert "Lab overview" in page

        # The demo station (the built-in simulator) connects by itself.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            _, _, live = qa.get("/catalogue/live/")
            row = live.split("DEMO-HICONICS-01", 1)[-1].split("</tr>", 1)[0]
            if "state-online" in row:
                break
            time.sleep(0.5)
        else:
            raise AssertionError("the demo station never came online:\n" + lab.log()[-3000:])

        vendor = Browser(f"http://127.0.0.1:{ports['http']}")
        vendor.login("hiconics", "certlab-vendor")
        _, _, stations = vendor.get("/catalogue/stations/")
        assert "DEMO-HICONICS-01" in stations
        assert "DEMO-KEMPOWER-01" not in stations

        code = lab.stop()

    # make passes Ctrl-C on by dying of SIGINT itself; a supervisor failure would make it exit 2.
    assert code in (0, -signal.SIGINT), lab.log()[-2000:]
    assert "all stopped" in lab.log()
    assert [name for name, pid in started.items() if _pid_alive(pid)] == []


def test_a_busy_port_is_named_with_the_setting_to_change(tmp_path):
    ports = {"http": free_port(), "redis": free_port(), "ftp": free_port(), "passive": 31210}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", ports["http"]))
        busy.listen()
        result = subprocess.run(
            [sys.executable, "-m", "certlab.run"],
            cwd=ROOT,
            env={k: v for k, v in _embedded_env(tmp_path, **ports).items() if v is not None},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2
    assert f"port {ports['http']} for daphne is busy" in result.stderr
    assert "CERTLAB_HTTP_PORT" in result.stderr
