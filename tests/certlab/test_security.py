"""Secure defaults every response and every login has: the policy headers and login throttling."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

PASSWORD = "correct horse battery"


@pytest.fixture
def qa(db):
    return UserFactory(username="qa-sec")


def _login(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_every_page_forbids_inline_script_and_style_and_framing(qa):
    client = Client()
    client.force_login(qa)
    response = client.get(reverse("home"))
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    # The login page, which anyone reaches, carries it too.
    assert "script-src 'self'" in Client().get(reverse("login"))["Content-Security-Policy"]


def test_five_wrong_passwords_lock_the_login_even_with_the_right_one_after(qa):
    client = Client()
    for _ in range(5):
        page = _login(client, "qa-sec", "wrong")
    assert page.status_code == 429  # the fifth failure already locks
    locked = _login(client, "qa-sec", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_lockout_is_for_that_user_from_that_address_only(qa):
    other = UserFactory(username="qa-other")
    for _ in range(5):
        _login(Client(), "qa-sec", "wrong", address="10.0.0.1")
    # The same user from another address, and another user from the same address, still log in.
    assert _login(Client(), "qa-sec", PASSWORD, address="10.0.0.2").status_code == 302
    assert _login(Client(), other.username, PASSWORD, address="10.0.0.1").status_code == 302


def test_a_forged_forwarded_address_does_not_reset_the_count(qa):
    client = Client()
    for n in range(5):
        client.post(
            reverse("login"),
            {"username": "qa-sec", "password": "wrong"},
            REMOTE_ADDR="10.0.0.1",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{n}",
        )
    assert _login(client, "qa-sec", PASSWORD, address="10.0.0.1").status_code == 429


def test_a_success_before_the_limit_resets_the_count(qa):
    for _ in range(4):
        _login(Client(), "qa-sec", "wrong")
    assert _login(Client(), "qa-sec", PASSWORD).status_code == 302
    for _ in range(4):
        _login(Client(), "qa-sec", "wrong")
    assert _login(Client(), "qa-sec", PASSWORD).status_code == 302
