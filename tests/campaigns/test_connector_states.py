"""The OCPP 1.6 connector state machine (section 4.9) and judging a status sequence by it."""

import pytest

from campaigns.engine.connector_states import (
    ALLOWED,
    STATUSES,
    Transition,
    judge,
    judge_sequence,
)


@pytest.mark.parametrize(
    ("previous", "status"),
    [
        ("Available", "Charging"),  # A3: MinimumStatusDuration hides Preparing
        ("Available", "Preparing"),  # A2
        ("Preparing", "Charging"),  # B3
        ("Charging", "Finishing"),  # C6
        ("Charging", "Available"),  # C1: Finishing hidden or the cable pulled
        ("SuspendedEV", "Charging"),  # D3
        ("Finishing", "Available"),  # F1
        ("Unavailable", "Available"),  # H1
        ("Faulted", "Reserved"),  # I7
        ("Available", "Available"),  # a repeated notification
    ],
)
def test_transitions_of_the_table_are_allowed(previous, status):
    assert judge(previous, status) == Transition.ALLOWED


@pytest.mark.parametrize(
    ("previous", "status"),
    [
        ("Available", "Finishing"),  # through Preparing
        ("Charging", "Preparing"),  # through Finishing (F2)
        ("Reserved", "Charging"),  # through Preparing
        ("Preparing", "Unavailable"),  # through Finishing (F8)
    ],
)
def test_transitions_through_one_unreported_state_are_unexpected(previous, status):
    assert judge(previous, status) == Transition.UNEXPECTED


@pytest.mark.parametrize(
    ("previous", "status"),
    [
        ("Charging", "Reserved"),
        ("Preparing", "Reserved"),
        ("Unavailable", "Reserved"),
        ("Available", "Occupied"),  # not an OCPP 1.6 status at all
    ],
)
def test_impossible_transitions_are_forbidden(previous, status):
    assert judge(previous, status) == Transition.FORBIDDEN


def test_connector_zero_knows_only_available_unavailable_and_faulted():
    assert judge("Available", "Unavailable", connector_id=0) == Transition.ALLOWED
    assert judge("Faulted", "Available", connector_id=0) == Transition.ALLOWED
    assert judge("Available", "Charging", connector_id=0) == Transition.FORBIDDEN
    assert judge(None, "Preparing", connector_id=0) == Transition.FORBIDDEN


def test_the_table_has_no_self_transitions_and_only_known_statuses():
    assert set(ALLOWED) == set(STATUSES)
    for status, targets in ALLOWED.items():
        assert status not in targets
        assert targets <= set(STATUSES)


def test_a_sequence_is_judged_transition_by_transition_from_its_known_start():
    judgement = judge_sequence(["Charging", "Reserved", "Available"], start="Available")
    assert [s.kind for s in judgement.steps] == [
        Transition.ALLOWED, Transition.FORBIDDEN, Transition.ALLOWED,  # G1 after the bad one
    ]  # fmt: skip
    assert not judgement.allowed
    assert "Charging → Reserved" in judgement.describe()
    assert judgement.path() == "(Available) → Charging → Reserved → Available"


def test_a_sequence_of_allowed_transitions_says_so():
    judgement = judge_sequence(["Preparing", "Charging", "Finishing", "Available"])
    assert judgement.allowed and not judgement.unexpected
    assert judgement.describe().endswith("every transition allowed by OCPP 1.6 (section 4.9)")
