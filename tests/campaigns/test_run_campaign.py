"""run_campaign's parts that need no station: which steps, which answers, the JUnit file, and
the refusals of a bad command line (exit code 2 with a message, nothing created)."""

from __future__ import annotations

from io import StringIO
from xml.etree import ElementTree as ET

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from campaigns import services
from campaigns.junit import write_junit
from campaigns.models import Attempt, Campaign, Criterion, CriterionResult
from campaigns.unattended import (
    PlannedAnswer,
    StepOutcome,
    load_answers,
    parse_steps,
    steps_to_run,
)
from tests.factories import StationFactory, UserFactory


def test_steps_are_numbers_and_ranges_in_the_order_given():
    assert parse_steps("3,1-2,7,2") == [3, 1, 2, 7]
    assert parse_steps("") == []
    with pytest.raises(ValueError, match="numbers and ranges"):
        parse_steps("1,x")


def test_answers_come_from_a_yaml_or_json_file_and_flags_win(tmp_path):
    yaml_file = tmp_path / "answers.yaml"
    yaml_file.write_text(
        "plug_in: Done\nfault: {choice: Done, value: GroundFailure}\n'*': simulate\n"
    )
    answers = load_answers(yaml_file, ["plug_in=Cannot do"])
    assert answers == {
        "plug_in": PlannedAnswer("Cannot do"),
        "fault": PlannedAnswer("Done", "GroundFailure"),
        "*": PlannedAnswer("simulate"),
    }
    json_file = tmp_path / "answers.json"
    json_file.write_text('{"power_cycle": "Done"}')
    assert load_answers(json_file, []) == {"power_cycle": PlannedAnswer("Done")}
    for bad in ("[1, 2]", "unplug: [1]"):
        yaml_file.write_text(bad)
        with pytest.raises(ValueError):
            load_answers(yaml_file, [])
    with pytest.raises(ValueError, match="kind=choice"):
        load_answers(None, ["Done"])


@pytest.mark.django_db
def test_the_remaining_steps_are_the_planned_undecided_ones_in_order(qa_user):
    campaign = services.campaign_create(station=StationFactory(), owner=qa_user)
    services.plan_item_set_applicability(
        plan_item=campaign.plan.get(function__number=2),
        applicability="not_applicable",
        reason="no heartbeat",
    )
    item = campaign.plan.get(function__number=1)
    Attempt.objects.create(
        plan_item=item,
        station=campaign.station,
        number=1,
        status="finished",
        final_verdict="ok",
        result_text="Ok",
    )
    remaining = [i.function.number for i in steps_to_run(campaign=campaign)]
    assert remaining == list(range(3, 17))
    chosen = steps_to_run(campaign=campaign, numbers=[5, 1])
    assert [i.function.number for i in chosen] == [5, 1]
    with pytest.raises(ValueError, match="no step 17"):
        steps_to_run(campaign=campaign, numbers=[17])


@pytest.mark.django_db
def test_junit_has_one_case_per_criterion_failed_is_a_failure_not_observed_skipped(
    qa_user, tmp_path
):
    campaign = services.campaign_create(station=StationFactory(), owner=qa_user)
    item = campaign.plan.get(function__number=2)
    attempt = Attempt.objects.create(
        plan_item=item,
        station=campaign.station,
        number=1,
        status="finished",
        proposed_verdict="failed",
    )
    outcomes = ["passed", "failed", "not_observed"]
    for criterion, outcome in zip(
        Criterion.objects.filter(function=item.function), outcomes, strict=True
    ):
        CriterionResult.objects.create(attempt=attempt, criterion=criterion, outcome=outcome)
    criteria = [
        {
            "key": r.criterion.key,
            "text": r.criterion.text,
            "outcome": r.outcome,
            "details": ["a detail"],
        }
        for r in attempt.criterion_results.all()
    ]
    path = tmp_path / "junit.xml"
    write_junit(
        path,
        name="c",
        outcomes=[
            StepOutcome(2, "Heartbeat", attempt, criteria=criteria),
            StepOutcome(3, "Change availability", None, skipped="station busy"),
        ],
    )
    suites = ET.parse(path).getroot().findall("testsuite")
    heartbeat, availability = suites
    assert [c.get("name").split()[0] for c in heartbeat.findall("testcase")] == [
        "2.a",
        "2.b",
        "2.c",
    ]
    assert (heartbeat.get("tests"), heartbeat.get("failures"), heartbeat.get("skipped")) == (
        "3",
        "1",
        "1",
    )
    assert availability.find("testcase/error").get("message") == "station busy"


@pytest.mark.django_db
def test_a_bad_command_line_exits_2_with_a_message_and_creates_nothing(qa_user):
    station = StationFactory()
    vendor_user = UserFactory(
        username="not-qa", role="vendor", manufacturer=station.charger_model.manufacturer
    )
    cases = [
        (["--station", "NOPE", "--user", "qa"], "No station"),
        (["--station", station.charge_point_id], "--user"),
        (
            ["--station", station.charge_point_id, "--user", vendor_user.username],
            "not an active QA",
        ),
        (["--station", station.charge_point_id, "--user", "qa", "--param", "x=1"], "lab parameter"),
        (
            ["--station", station.charge_point_id, "--user", "qa", "--param", "late_answer=0"],
            "at least 1 s",
        ),
        (
            [
                "--station",
                station.charge_point_id,
                "--user",
                "qa",
                "--param",
                "heartbeat_tolerance=5.0",
            ],
            "at most",
        ),
        (["--station", station.charge_point_id, "--user", "qa", "--steps", "a"], "ranges"),
        (["--campaign", "999999"], "No campaign"),
    ]
    for args, message in cases:
        with pytest.raises(CommandError, match=message) as error:
            call_command("run_campaign", *args, stdout=StringIO())
        assert error.value.returncode == 2, args
    assert not Campaign.objects.exists()
