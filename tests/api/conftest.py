"""Two vendors with a full set of objects each (catalogue, campaign, attempt with a check and a
prompt, frames, a diagnostics upload), and API clients for QA and the first vendor."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.test import APIClient

from api.tokens import token_create
from campaigns import services
from campaigns.models import Attempt, Check, Criterion, Prompt
from campaigns.vendor import campaign_share
from stations.models import Frame
from tests.factories import (
    ChargerModelFactory,
    FirmwareVersionFactory,
    StationFactory,
    UserFactory,
    VendorFactory,
)
from transfers.models import DiagnosticsFile, FirmwareDownload


@dataclass
class World:
    """One manufacturer's objects, as a vendor of it would reach them."""

    manufacturer: object
    model: object
    firmware: object
    station: object
    campaign: object
    attempt: Attempt
    prompt: Prompt
    frame: Frame
    diagnostics: DiagnosticsFile
    vendor: object


def build_world(qa, name: str) -> World:
    model = ChargerModelFactory(manufacturer__name=name)
    firmware = FirmwareVersionFactory(charger_model=model)
    firmware.file.save(f"{name}.bin", ContentFile(b"firmware of " + name.encode()), save=True)
    station = StationFactory(charger_model=model, expected_firmware=firmware)
    campaign = services.campaign_create(station=station, owner=qa, notes=f"lab notes {name}")
    item = campaign.plan.get(function__number=1)
    attempt = Attempt.objects.create(
        plan_item=item,
        station=station,
        number=1,
        started_by=qa,
        status="finished",
        proposed_verdict="ok",
        proposed_text="Ok",
        ended=timezone.now(),
    )
    now = timezone.now()
    frame = Frame.objects.create(
        station=station,
        timestamp=now,
        direction="in",
        message_type="CALL",
        action="BootNotification",
        unique_id="1",
        raw='[2,"1","BootNotification",{}]',
        payload={},
    )
    criterion = Criterion.objects.filter(function=item.function).first()
    Check.objects.create(
        attempt=attempt,
        criterion=criterion,
        key="boot",
        outcome="passed",
        detail="booted",
        evidence=[{"id": frame.pk, "raw": frame.raw}],
        at=now,
    )
    prompt = Prompt.objects.create(
        attempt=attempt,
        text=f"Reboot {name}",
        choices=["Done"],
        kind="power_cycle",
        deadline=now,
        status="answered",
    )
    upload = DiagnosticsFile.objects.create(
        station=station, file_name=f"{name}.log", started=now, complete=True
    )
    upload.file.save(f"{name}.log", ContentFile(b"log"), save=True)
    FirmwareDownload.objects.create(
        station=station, firmware=firmware, protocol="http", file_name="f.bin", started=now
    )
    vendor = VendorFactory(manufacturer=model.manufacturer, username=f"vendor-{name}")
    # Shared with its vendor: another vendor's must be refused even then.
    campaign_share(campaign=campaign, user=qa)
    return World(
        model.manufacturer,
        model,
        firmware,
        station,
        campaign,
        attempt,
        prompt,
        frame,
        upload,
        vendor,
    )


@pytest.fixture
def qa(db):
    return UserFactory(username="qa-api")


@pytest.fixture
def ours(qa) -> World:
    return build_world(qa, "Ours")


@pytest.fixture
def theirs(qa) -> World:
    return build_world(qa, "Theirs")


def token_client(user) -> APIClient:
    _record, token = token_create(user=user, name="test script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def qa_api(qa) -> APIClient:
    return token_client(qa)


@pytest.fixture
def vendor_api(ours) -> APIClient:
    return token_client(ours.vendor)
