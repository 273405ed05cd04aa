"""A vendor reaches nothing of another vendor's, through any URL.

The crawler walks every URL pattern of the URL configuration, the websocket routes and the
HTTP routes served beside Django, fills each one's ids with the other vendor's objects and
expects a refusal. A new pattern that this file does not cover fails the test: decide how a
vendor is kept out of it, and add it below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from api.tokens import token_create
from campaigns import services
from campaigns.models import Attempt, AttemptStatus, Check, Prompt
from campaigns.vendor import campaign_share
from stations.models import Command, PendingStation, Station
from tests.factories import (
    ChargerModelFactory,
    FirmwareVersionFactory,
    ManufacturerFactory,
    StationFactory,
    UserFactory,
    VendorFactory,
)
from transfers.models import DiagnosticsFile, FirmwareDownload

OTHER = "ZETA"  # every name of the other vendor's objects carries it; a page showing it leaks


@dataclass
class Tenant:
    vendor: object
    maker: object
    model: object
    firmware: object
    station: Station
    campaign: object
    attempt: Attempt
    prompt: Prompt
    command: Command
    diagnostics: DiagnosticsFile
    download: FirmwareDownload
    token: object
    pending: PendingStation | None = None  # only the other vendor's side has one


def _tenant(label: str, qa) -> Tenant:
    maker = ManufacturerFactory(name=f"{label} Chargers")
    model = ChargerModelFactory(manufacturer=maker, name=f"{label}-MODEL-1")
    firmware = FirmwareVersionFactory(charger_model=model, version=f"{label}-FW-1")
    firmware.file.save(f"{label}-fw.bin", ContentFile(b"firmware"), save=True)
    station = StationFactory(
        charge_point_id=f"{label}-CP-1", charger_model=model, expected_firmware=firmware,
        serial_number=f"{label}-SN-1",
    )  # fmt: skip
    vendor = VendorFactory(username=f"{label.lower()}-vendor", manufacturer=maker)
    campaign = services.campaign_create(station=station, owner=qa)
    campaign_share(campaign=campaign, user=qa)  # its own vendor sees it; the other must not
    item = campaign.plan.get(function__number=3)
    now = timezone.now()
    attempt = Attempt.objects.create(
        plan_item=item, station=station, number=1, status=AttemptStatus.RUNNING, started=now,
        heartbeat=now,
    )  # fmt: skip
    Check.objects.create(attempt=attempt, criterion=item.function.criteria.first(),
                         key="3.a#x", outcome="passed", detail=f"{label} detail", at=now,
                         evidence=[])  # fmt: skip
    prompt = Prompt.objects.create(
        attempt=attempt, text=f"{label}: plug the cable in", choices=["Done", "Cannot do"],
        deadline=now + timedelta(hours=1),
    )  # fmt: skip
    command = Command.objects.create(station=station, action="Reset", payload={"type": "Soft"})
    diagnostics = DiagnosticsFile.objects.create(
        station=station, file_name=f"{label}-diag.zip", size=5, sha256="ab" * 32, started=now,
        received=now, complete=True,
    )  # fmt: skip
    diagnostics.file.save(f"{label}-diag.zip", ContentFile(b"hello"), save=True)
    download = FirmwareDownload.objects.create(
        station=station, firmware=firmware, protocol="http", file_name=f"{label}-fw.bin",
        file_size=8, bytes_sent=8, started=now,
    )  # fmt: skip
    token, _ = token_create(user=vendor, name=f"{label} script")
    return Tenant(vendor, maker, model, firmware, station, campaign, attempt, prompt, command,
                  diagnostics, download, token)  # fmt: skip


SLUG_OBJECT = {"stations": "station", "manufacturers": "maker", "models": "model",
               "firmware": "firmware"}  # fmt: skip

# How each pattern names the other vendor's objects. A list: every way to fill it.
COVERED = {
    "stations:live": lambda o: [{"pk": o.station.pk}],
    "stations:frame_history": lambda o: [{"pk": o.station.pk}],
    "stations:frame_export": lambda o: [{"pk": o.station.pk, "fmt": f} for f in ("csv", "jsonl")],
    "stations:console_send": lambda o: [{"pk": o.station.pk}],
    "stations:command_detail": lambda o: [{"pk": o.station.pk, "command_pk": o.command.pk}],
    "stations:boot_settings": lambda o: [{"pk": o.station.pk}],
    "stations:firmware_download": lambda o: [{"pk": o.firmware.pk}],
    "stations:station_fill_from_boot": lambda o: [{"pk": o.station.pk}],
    "stations:object_detail": lambda o: [
        {"slug": slug, "pk": getattr(o, name).pk} for slug, name in SLUG_OBJECT.items()
    ],
    "stations:object_edit": lambda o: [
        {"slug": slug, "pk": getattr(o, name).pk} for slug, name in SLUG_OBJECT.items()
    ],
    "campaigns:campaign_detail": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:campaign_complete": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:campaign_reopen": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:campaign_reopen_signed_off": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:campaign_apply_declaration": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:campaign_sign_off": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:campaign_run_all": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:campaign_run_all_stop": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:campaign_history": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:campaign_share": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:campaign_unshare": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:campaign_acknowledge": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:report": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:report_pdf": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:campaign_frames": lambda o: [
        {"pk": o.campaign.pk, "fmt": f} for f in ("csv", "jsonl")
    ],
    "campaigns:verdicts_json": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:evidence_bundle": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:verdicts_junit": lambda o: [{"pk": o.campaign.pk}],
    # Each campaign through campaigns_for; own against the other's: tests/campaigns/test_compare.py
    "campaigns:compare_choose": lambda o: [{"pk": o.campaign.pk}],
    "campaigns:compare": lambda o: [{"pk": o.campaign.pk, "other": o.campaign.pk}],
    "campaigns:compare_pdf": lambda o: [{"pk": o.campaign.pk, "other": o.campaign.pk}],
    "campaigns:attempt_frames": lambda o: [
        {"attempt_pk": o.attempt.pk, "fmt": f} for f in ("csv", "jsonl")
    ],
    "campaigns:step_detail": lambda o: [{"pk": o.campaign.pk, "number": 3}],
    "campaigns:step_run": lambda o: [{"pk": o.campaign.pk, "number": 3}],
    "campaigns:step_plan": lambda o: [{"pk": o.campaign.pk, "number": 3}],
    "campaigns:attempt_panel": lambda o: [{"attempt_pk": o.attempt.pk}],
    "campaigns:attempt_abort": lambda o: [{"attempt_pk": o.attempt.pk}],
    "campaigns:attempt_end_wait": lambda o: [{"attempt_pk": o.attempt.pk}],
    "campaigns:attempt_verdict": lambda o: [{"attempt_pk": o.attempt.pk}],
    "campaigns:prompt_answer": lambda o: [{"prompt_pk": o.prompt.pk}],
    "campaigns:prompt_simulate": lambda o: [{"prompt_pk": o.prompt.pk}],
    "transfers:station_transfers": lambda o: [{"pk": o.station.pk}],
    "transfers:diagnostics_download": lambda o: [{"pk": o.diagnostics.pk}],
    "transfers:firmware_downloads": lambda o: [{"pk": o.firmware.pk}],
    "api:token_revoke": lambda o: [{"pk": o.token.pk}],
    "api:manufacturer-detail": lambda o: [{"pk": o.maker.pk}],
    "api:chargermodel-detail": lambda o: [{"pk": o.model.pk}],
    "api:firmware-detail": lambda o: [{"pk": o.firmware.pk}],
    "api:firmware-file": lambda o: [{"pk": o.firmware.pk}],
    "api:station-detail": lambda o: [{"pk": o.station.pk}],
    "api:station-diagnostics": lambda o: [{"pk": o.station.pk}],
    "api:station-firmware-downloads": lambda o: [{"pk": o.station.pk}],
    "api:station-frames": lambda o: [{"pk": o.station.pk}],
    "api:diagnostics-detail": lambda o: [{"pk": o.diagnostics.pk}],
    "api:diagnostics-file": lambda o: [{"pk": o.diagnostics.pk}],
    "api:campaign-detail": lambda o: [{"pk": o.campaign.pk}],
    "api:campaign-complete": lambda o: [{"pk": o.campaign.pk}],
    "api:campaign-reopen": lambda o: [{"pk": o.campaign.pk}],
    "api:campaign-history": lambda o: [{"pk": o.campaign.pk}],
    "api:campaign-compare": lambda o: [{"pk": o.campaign.pk, "other": o.campaign.pk}],
    "api:campaign-plan": lambda o: [{"pk": o.campaign.pk, "number": 3}],
    "api:campaign-run": lambda o: [{"pk": o.campaign.pk, "number": 3}],
    "api:campaign-sign-off": lambda o: [{"pk": o.campaign.pk}],
    "api:campaign-share": lambda o: [{"pk": o.campaign.pk}],
    "api:campaign-unshare": lambda o: [{"pk": o.campaign.pk}],
    "api:campaign-acknowledge": lambda o: [{"pk": o.campaign.pk}],
    "api:campaign-run-all": lambda o: [{"pk": o.campaign.pk}],
    "api:campaign-run-all-stop": lambda o: [{"pk": o.campaign.pk}],
    "api:campaign-step": lambda o: [{"pk": o.campaign.pk, "number": 3}],
    "api:attempt-detail": lambda o: [{"pk": o.attempt.pk}],
    "api:attempt-abort": lambda o: [{"pk": o.attempt.pk}],
    "api:attempt-end-wait": lambda o: [{"pk": o.attempt.pk}],
    "api:attempt-verdict": lambda o: [{"pk": o.attempt.pk}],
    "api:prompt-detail": lambda o: [{"pk": o.prompt.pk}],
    "api:prompt-answer": lambda o: [{"pk": o.prompt.pk}],
    "api:prompt-simulate": lambda o: [{"pk": o.prompt.pk}],
    # Pending stations belong to no vendor: QA only, whoever asks.
    "stations:pending_detail": lambda o: [{"pending_pk": o.pending.pk}],
    "stations:pending_adopt": lambda o: [{"pending_pk": o.pending.pk}],
    "stations:pending_delete": lambda o: [{"pending_pk": o.pending.pk}],
}

# Patterns without an object id: the page or list a vendor gets must not show the other's.
LISTS = {
    "home", "stations:catalogue_home", "stations:live_list", "stations:object_list",
    "stations:object_create", "campaigns:campaign_list", "campaigns:campaign_create",
    "campaigns:catalogue", "api:manufacturer-list", "api:chargermodel-list", "api:firmware-list",
    "stations:firmware_upload", "api:firmware-upload",
    "api:station-list", "api:catalogue-list", "api:campaign-list", "api:attempt-list",
    "api:schema", "api:docs", "api:tokens",
}  # fmt: skip

# Lists filled with other words than ids: every way to fill them.
LIST_KWARGS = {"home_section": [{"section": s} for s in ("prompts", "campaigns", "stations",
                                                            "sign_offs")]}  # fmt: skip
LISTS |= set(LIST_KWARGS)

# Reached without a vendor's objects at all, each for its reason.
OUT_OF_SCOPE = {
    "healthz": "liveness, no data",
    "favicon": "a static file",
    "login": "before anyone is logged in",
    "logout": "ends the vendor's own session",
    # A signed, expiring link is the credential, for stations that cannot log in (tested in
    # tests/transfers/test_firmware_links.py: forged or expired tokens are refused).
    "transfers:firmware_file": "signed link",
}


def _patterns(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace or ""]))
            if pattern.namespace == "admin":
                continue  # Django's admin: staff only (vendors are not staff), tested below
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield ":".join(filter(None, [namespace, pattern.name])), pattern


@pytest.fixture
def tenants(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    qa = UserFactory(username="qa-crawl")
    own = _tenant("ALFA", qa)
    other = _tenant(OTHER, qa)
    other.pending = PendingStation.objects.create(
        charge_point_id=f"{OTHER}-PENDING", first_seen=timezone.now(), last_seen=timezone.now()
    )
    return own, other


def _refused(response) -> bool:
    return response.status_code in (403, 404)


def test_every_url_pattern_is_covered_by_the_crawler():
    names = {name for name, _ in _patterns(get_resolver().url_patterns)}
    uncovered = names - set(COVERED) - LISTS - set(OUT_OF_SCOPE)
    assert uncovered == set(), f"decide how a vendor is kept out of {sorted(uncovered)}"
    assert set(COVERED) - names == set(), "covered patterns that no longer exist"


def test_a_vendor_is_refused_every_object_of_another_vendor(tenants):
    own, other = tenants
    client = Client()
    client.force_login(own.vendor)
    leaks = []
    for name, pattern in _patterns(get_resolver().url_patterns):
        if name in COVERED:
            for kwargs in COVERED[name](other):
                url = reverse(name, kwargs=kwargs)
                response = client.get(url)
                if response.status_code == 405:
                    response = client.post(url, {})
                if not _refused(response):
                    leaks.append(f"{url} answered {response.status_code}")
        elif name in LISTS:
            by_slug = "<slug:slug>" in str(pattern.pattern)
            kwargs = [{"slug": s} for s in SLUG_OBJECT] if by_slug else [{}]
            kwargs = LIST_KWARGS.get(name, kwargs)
            for kw in kwargs:
                url = reverse(name, kwargs=kw)
                response = client.get(url)
                body = b"".join(response.streaming_content) if response.streaming else (
                    response.content
                )  # fmt: skip
                if OTHER.encode() in body:
                    leaks.append(f"{url} shows the other vendor's objects")
                if response.status_code >= 500:
                    leaks.append(f"{url} answered {response.status_code}")
    assert leaks == []
    # ... and nothing of the other vendor's changed on the way.
    other.attempt.refresh_from_db()
    other.prompt.refresh_from_db()
    other.token.refresh_from_db()
    other.campaign.refresh_from_db()
    assert other.attempt.status == AttemptStatus.RUNNING and not other.attempt.abort_requested
    assert other.prompt.status == "open" and other.token.revoked is None
    assert other.campaign.status == "draft"
    assert PendingStation.objects.filter(pk=other.pending.pk).exists()


def test_the_admin_is_closed_to_vendors(tenants):
    own, _ = tenants
    client = Client()
    client.force_login(own.vendor)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert OTHER not in page


def _session_headers(user) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    return [(b"cookie", f"sessionid={cookie}".encode()), (b"origin", b"http://127.0.0.1"),
            (b"host", b"127.0.0.1")]  # fmt: skip


# The websocket routes and the long-polls beside Django, with the other vendor's ids.
SOCKETS = {
    "stations/{station}/frames/": "station",
    "attempts/{attempt}/": "attempt",
    "campaigns/{campaign}/run-all/": "campaign",
}
# Open to every user, no ids: what the other vendor's objects do must never reach it (below).
OPEN_SOCKETS = {"home/"}
LONG_POLLS = {
    "api/v1/attempts/{attempt}/next/?timeout=1": "attempt",
    "api/v1/stations/{station}/prompts/next/?timeout=1": "station",
}


def test_every_websocket_and_long_poll_route_is_covered():
    from certlab.routing import browser_urlpatterns, http_urlpatterns

    def shape(route: str) -> str:
        route = route.split("?")[0]
        for name in ("{station}", "{attempt}", "{campaign}"):
            route = route.replace(name, "<int:pk>")
        return route

    routes = sorted(str(p.pattern) for p in browser_urlpatterns)
    assert routes == sorted([*map(shape, SOCKETS), *OPEN_SOCKETS])
    assert sorted(str(p.pattern) for p in http_urlpatterns) == sorted(map(shape, LONG_POLLS))


def _application():
    """The browser side of certlab.asgi: the same routes behind the same middleware (importing
    certlab.asgi itself would install daphne's shutdown hooks into the test process)."""
    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter
    from channels.security.websocket import AllowedHostsOriginValidator
    from django.urls import path

    from certlab.routing import browser_urlpatterns, http_urlpatterns

    browser = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(browser_urlpatterns)))
    browser._path_routing = True
    return ProtocolTypeRouter(
        {"http": URLRouter(http_urlpatterns), "websocket": URLRouter([path("ws/", browser)])}
    )


@pytest.mark.django_db(transaction=True)
async def test_a_vendor_cannot_watch_or_wait_on_another_vendors_station_or_attempt(
    settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    qa = await sync_to_async(UserFactory)(username="qa-crawl")
    own = await sync_to_async(_tenant)("ALFA", qa)
    other = await sync_to_async(_tenant)(OTHER, qa)
    headers = await sync_to_async(_session_headers)(own.vendor)
    ids = {"station": other.station.pk, "attempt": other.attempt.pk, "campaign": other.campaign.pk}
    for route in SOCKETS:
        path = "/ws/" + route.format(**ids)
        comm = WebsocketCommunicator(_application(), path, headers=headers)
        connected, _ = await comm.connect()
        assert not connected, path
        await comm.disconnect()
    for route in LONG_POLLS:
        path, _, query = route.format(**ids).partition("?")
        comm = HttpCommunicator(_application(), "GET", f"/{path}?{query}", headers=headers)
        response = await comm.get_response(timeout=10)
        assert response["status"] in (403, 404), (path, response["status"])
        assert OTHER.encode() not in response["body"]
        json.loads(response["body"] or b"{}")


@pytest.mark.django_db(transaction=True)
async def test_the_home_socket_tells_a_vendor_nothing_of_another_vendors_objects(
    settings, tmp_path
):
    from campaigns.events import attempt_changed, campaign_changed, campaign_withdrawn
    from stations.events import catalogue_changed, connection_changed

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    qa = await sync_to_async(UserFactory)(username="qa-crawl")
    own = await sync_to_async(_tenant)("ALFA", qa)
    other = await sync_to_async(_tenant)(OTHER, qa)
    headers = await sync_to_async(_session_headers)(own.vendor)
    for route in OPEN_SOCKETS:
        comm = WebsocketCommunicator(_application(), "/ws/" + route, headers=headers)
        connected, _ = await comm.connect()
        assert connected
        await comm.receive_json_from(timeout=5)  # every section, fetched through its view
        for what in ("prompt", "status", "verdict"):
            await attempt_changed(other.attempt.pk, what)
        for what in ("created", "started", "run_all", "status", "shared"):
            await campaign_changed(other.campaign.pk, what)
        other_maker = other.station.charger_model.manufacturer_id
        await campaign_withdrawn(other.campaign.pk, manufacturer_id=other_maker,
                                 attempt_ids=[other.attempt.pk])  # fmt: skip
        for what in ("added", "moved"):
            await catalogue_changed([other_maker], what)
        await connection_changed(other.station.pk, online=True)
        assert await comm.receive_nothing(timeout=1.5), route
        await connection_changed(own.station.pk, online=True)  # its own: heard
        assert await comm.receive_json_from(timeout=5) == {"sections": ["stations"]}
        await comm.disconnect()
