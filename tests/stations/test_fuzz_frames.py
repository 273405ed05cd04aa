"""Random and mutated frames of every action and message type, sent to a real daphne: every
frame is in the log, every answer is valid OCPP-J 1.6, no traceback, the connection lives.

Bounded in time: about 1,700 frames (``FUZZ_EXAMPLES`` batches of ``FRAMES_PER_EXAMPLE``);
hypothesis's randoms make a failing run reproducible (its database keeps the example).
``bench/fuzz.py`` sends 100,000 of the same frames.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from django.conf import settings
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from websockets.sync.client import connect

from stations.models import Frame
from tests import processes
from tests.factories import StationFactory
from tests.processes import daphne, free_port, wait_for_port
from tests.stations.fuzzing import FrameFuzzer, Fuzzed, answer_problem

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FUZZ_EXAMPLES = int(os.environ.get("CERTLAB_FUZZ_EXAMPLES", "80"))
FRAMES_PER_EXAMPLE = 20


def send(socket, fuzzed: Fuzzed) -> None:
    if fuzzed.kind == "binary":
        socket.send(fuzzed.data, text=False)
    elif fuzzed.kind == "bad-utf8":
        socket.send(fuzzed.data, text=True)  # websockets sends the bytes as a text frame
    else:
        socket.send(fuzzed.data)


def answers_until(socket, sentinel: str, timeout: float = 30) -> list[str]:
    """Everything CertLab sent until its answer to the ``sentinel`` Heartbeat."""
    received = []
    deadline = time.monotonic() + timeout
    while True:
        text = socket.recv(timeout=max(0.1, deadline - time.monotonic()))
        if f'"{sentinel}"' in text:
            return received
        received.append(text)


def rows_in(station, expected: int, timeout: float = 30) -> int:
    """The station's incoming frames in the log, once ``expected`` arrived (or time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        count = Frame.objects.filter(station=station, direction="in").count()
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.2)


@pytest.fixture(scope="module")
def endpoint(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real daphne on the test database: (port, process)."""
    port = free_port()
    env = {
        "DATABASE_URL": processes.test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "certlab.settings",
        "CERTLAB_DATA_DIR": os.environ.get("CERTLAB_DATA_DIR", ""),
    }
    log = tmp_path_factory.mktemp("fuzz") / "daphne.log"
    with daphne(port, log_path=log, env=env) as server:
        wait_for_port(port)
        yield port, server


def _connect(port: int, station):
    return connect(
        f"ws://127.0.0.1:{port}/ocpp/{station.charge_point_id}",
        subprotocols=["ocpp1.6"],
        max_size=None,
        open_timeout=30,
    )


def test_a_text_frame_not_utf8_is_logged_answered_and_the_connection_lives(endpoint):
    port, server = endpoint
    station = StationFactory()
    with _connect(port, station) as socket:
        socket.send(b'[2,"u1","Authorize",{"idTag":"\xff"}]', text=True)
        answer = json.loads(socket.recv(timeout=10))
        assert answer[:3] == [4, "u1", "FormationViolation"] and "UTF-8" in answer[3]
        socket.send('[2,"u2","Heartbeat",{}]')
        assert json.loads(socket.recv(timeout=10))[:2] == [3, "u2"]
    assert rows_in(station, 2) == 2
    logged = Frame.objects.filter(station=station, direction="in").order_by("id").first()
    assert logged.raw == '[2,"u1","Authorize",{"idTag":"\ufffd"}]'
    assert logged.error == "FormationViolation: Text frame not valid UTF-8"
    assert "Traceback" not in server.log()


def test_fuzzed_frames_are_all_logged_answered_in_16_terms_and_survived(endpoint):
    port, server = endpoint
    station = StationFactory()
    cap = settings.CERTLAB_OCPP_MAX_FRAME_BYTES
    sent = 0
    problems: list[str] = []
    with _connect(port, station) as socket:

        @hypothesis_settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(rng=st.randoms(use_true_random=False))
        def batch(rng) -> None:
            nonlocal sent
            # Nothing but rng may shape the frames (hypothesis replays its draws): ids repeat
            # from batch to batch, answers are judged within their batch.
            fuzzer = FrameFuzzer(rng, cap=cap)
            frames = [fuzzer.frame() for _ in range(FRAMES_PER_EXAMPLE)]
            for fuzzed in frames:
                send(socket, fuzzed)
            sentinel = f"alive-{sent}"
            socket.send(f'[2,"{sentinel}","Heartbeat",{{}}]')
            sent += len(frames) + 1
            # The connection lives: the Heartbeat after the batch is answered.
            for answer in answers_until(socket, sentinel):
                problem = answer_problem(answer, frames)
                if problem:
                    problems.append(f"{problem}: {answer[:200]}")

        batch()
    count = rows_in(station, sent)
    log = server.log()
    assert not problems, problems[:10]
    assert count == sent, f"{sent} frames sent, {count} in the frame log"
    assert "Traceback" not in log, log[log.index("Traceback") - 500 :][:4000]
    assert sent >= FUZZ_EXAMPLES * FRAMES_PER_EXAMPLE
