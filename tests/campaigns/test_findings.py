"""Two levels of judgement: findings beyond the lab's criteria are stored with their level and
reference, shown apart on the step page, and decide only in a campaign in strict (OCTT) mode."""

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.engine.results import CheckResult, Level, Outcome
from campaigns.engine.runner import Ending, StepRun
from campaigns.engine.verdict import Proposed
from campaigns.execution import _finish
from campaigns.models import Attempt, AttemptStatus, Campaign, Check, CheckLevel
from tests.factories import StationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(qa_user):
    return services.campaign_create(station=StationFactory(), owner=qa_user)


def _attempt(campaign, number=9, **fields):
    item = campaign.plan.get(function__number=number)
    fields.setdefault("status", AttemptStatus.RUNNING)
    return Attempt.objects.create(plan_item=item, station=campaign.station, number=1, **fields)


def test_strict_mode_is_chosen_on_the_campaign_form_and_copied_to_its_attempts(qa_client, qa_user):
    station = StationFactory()
    response = qa_client.post(
        reverse("campaigns:campaign_create"),
        {"station": station.pk, "strict": "on", "heartbeat_interval": 60, "meter_interval": 30,
         "valid_id_tag": "GOOD-1", "invalid_id_tag": "BAD-1", "connector_id": 1,
         "prompt_timeout": 300, "reconnect_timeout": 180, "offline_seconds": 60},
    )  # fmt: skip
    assert response.status_code == 302
    campaign = Campaign.objects.get(station=station)
    assert campaign.strict
    attempt = services.attempt_start(plan_item=campaign.plan.get(function__number=9), user=qa_user)
    assert attempt.strict
    page = qa_client.get(campaign.get_absolute_url()).content.decode()
    assert "strict (OCTT) mode" in page


def test_a_campaign_is_judged_by_the_lab_criteria_unless_strict_is_chosen(campaign):
    assert not campaign.strict


def test_the_finished_attempt_keeps_each_checks_level_and_reference(campaign):
    attempt = _attempt(campaign)
    now = datetime.now(UTC)
    results = [
        CheckResult("9.a", "9.a#status", Outcome.PASSED, "connector 1 Available", [], now),
        CheckResult(
            "9.a",
            "9.a#connector-0",
            Outcome.FAILED,
            "no connector 0",
            [],
            now,
            level=Level.FINDING,
            reference="OCTT TC_001",
        ),
    ]
    ctx = SimpleNamespace(results=results, attachments={})
    run = StepRun(Ending.FINISHED, "", {"9.a": Outcome.PASSED, "9.b": Outcome.PASSED},
                  Proposed.OK, "Ok", False)  # fmt: skip
    _finish(attempt.pk, ctx, run)
    checks = Check.objects.filter(attempt=attempt)
    stored = {c.key: (c.level, c.reference, c.outcome) for c in checks}
    assert stored == {
        "9.a#status": (CheckLevel.CRITERION, "", "passed"),
        "9.a#connector-0": (CheckLevel.FINDING, "OCTT TC_001", "failed"),
    }


def test_the_step_page_shows_findings_apart_from_the_criteria_with_their_reference(
    qa_client, campaign
):
    attempt = _attempt(campaign, status=AttemptStatus.FINISHED, ended=timezone.now(),
                       proposed_verdict="ok", proposed_text="Ok, hard and soft reset")  # fmt: skip
    criterion = attempt.plan_item.function.criteria.get(key="9.a")
    Check.objects.create(
        attempt=attempt,
        criterion=criterion,
        key="9.a#status",
        outcome="passed",
        detail="Connector 1 reported Available after the boot",
        at=timezone.now(),
    )
    Check.objects.create(attempt=attempt, criterion=criterion, key="9.a#connector-0",
                         outcome="failed", level="finding", reference="OCTT TC_001",
                         detail="No StatusNotification for connector 0 after the boot",
                         at=timezone.now())  # fmt: skip
    html = qa_client.get(reverse("campaigns:step_detail", args=[campaign.pk, 9])).content.decode()
    findings_at = html.index("Findings beyond the criteria")
    assert html.index("Connector 1 reported Available after the boot") < findings_at
    assert html.index("No StatusNotification for connector 0 after the boot") > findings_at
    assert "OCTT TC_001" in html[findings_at:]
    assert "criteria alone decide the proposed verdict" in html
