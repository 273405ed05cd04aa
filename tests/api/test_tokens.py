"""Personal API tokens: made and revoked by their user on a page of their own, shown once,
stored as a SHA-256 digest only, and refused once revoked."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from api.models import ApiToken
from api.tokens import token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_token_made_on_the_page_is_shown_once_and_stored_hashed(qa_client):
    response = qa_client.post(reverse("api:tokens"), {"name": "bench script"})
    assert response.status_code == 200
    token = re.search(r'<pre id="new-token">([^<]+)</pre>', response.content.decode()).group(1)
    assert response["Cache-Control"] == "no-store"
    record = ApiToken.objects.get(name="bench script")
    assert record.digest == hashlib.sha256(token.encode()).hexdigest()
    stored = [str(v) for v in ApiToken.objects.values_list(flat=False).get(pk=record.pk)]
    assert not any(token in value for value in stored)
    assert token not in qa_client.get(reverse("api:tokens")).content.decode()
    assert _bearer(token).get("/api/v1/campaigns/").status_code == 200


def test_a_token_without_a_name_is_refused_with_a_message(qa_client):
    response = qa_client.post(reverse("api:tokens"), {"name": "  "})
    assert response.status_code == 400
    assert "Name the token" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_token_name_longer_than_its_column_is_refused_not_cut(qa_client):
    response = qa_client.post(reverse("api:tokens"), {"name": "x" * 101})
    assert response.status_code == 400
    assert "at most 100 characters" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_revoked_token_is_refused(qa_client, qa_user):
    record, token = token_create(user=qa_user, name="old script")
    assert _bearer(token).get("/api/v1/stations/").status_code == 200
    response = qa_client.post(reverse("api:token_revoke", args=[record.pk]), follow=True)
    assert "revoked" in response.content.decode()
    refused = _bearer(token).get("/api/v1/stations/")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == "Bearer"


def test_a_user_sees_and_revokes_only_their_own_tokens(qa_client, qa_user):
    other = UserFactory(username="someone-else")
    record, token = token_create(user=other, name="their script")
    page = qa_client.get(reverse("api:tokens")).content.decode()
    assert "their script" not in page
    assert qa_client.post(reverse("api:token_revoke", args=[record.pk])).status_code == 404
    assert _bearer(token).get("/api/v1/stations/").status_code == 200


def test_an_unknown_or_malformed_token_is_refused(db):
    for header in ("Bearer certlab_nope", "Bearer", "Bearer a b", "Bearer plainkey"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        assert client.get("/api/v1/stations/").status_code == 401, header


def test_an_inactive_users_token_is_refused(qa_user):
    _record, token = token_create(user=qa_user, name="script")
    qa_user.is_active = False
    qa_user.save()
    assert _bearer(token).get("/api/v1/stations/").status_code == 401


def test_the_browser_session_needs_the_csrf_token_to_write(qa_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(qa_user)
    assert client.get("/api/v1/manufacturers/").status_code == 200
    response = client.post("/api/v1/manufacturers/", {"name": "No CSRF"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_the_schema_and_its_page_are_served_without_a_cdn(qa_client):
    schema = qa_client.get("/api/v1/schema/?format=json").json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/attempts/{id}/next/" in schema["paths"]
    assert "/api/v1/campaigns/{id}/steps/{number}/run/" in schema["paths"]
    page = qa_client.get("/api/v1/docs/").content.decode()
    assert "cdn" not in page.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
    assert "<style>" not in page and "<script>" not in page, "inline code breaks the CSP"
