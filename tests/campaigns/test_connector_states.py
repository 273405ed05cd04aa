"""The OCPP 1.6 connector state machine (section 4.9) and judging a status sequence by it."""

import pytest

from campaigns.engine.connector_states import (
    ALLOWED,
    CELLS,
    STATUSES,
    Transition,
    cell,
    judge,
    judge_sequence,
)

# OCPP 1.6 edition 2, section 4.9, written out per row (the status before) with the statuses its
# filled cells lead to; checked against open-source encodings of the table (a Central System
# simulator's OCPP16Constants transitions, a charge point's conformance tests that list the cells
# A2..I8, an OCPP debugging toolkit's issue that counts its 53 cells).
SPEC_TABLE = {
    "Available": ("Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Reserved",
                  "Unavailable", "Faulted"),  # A2-A5, A7-A9
    "Preparing": ("Available", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing",
                  "Faulted"),  # B1, B3-B6, B9
    "Charging": ("Available", "SuspendedEV", "SuspendedEVSE", "Finishing", "Unavailable",
                 "Faulted"),  # C1, C4-C6, C8, C9
    "SuspendedEV": ("Available", "Charging", "SuspendedEVSE", "Finishing", "Unavailable",
                    "Faulted"),  # D1, D3, D5, D6, D8, D9
    "SuspendedEVSE": ("Available", "Charging", "SuspendedEV", "Finishing", "Unavailable",
                      "Faulted"),  # E1, E3, E4, E6, E8, E9
    "Finishing": ("Available", "Preparing", "Unavailable", "Faulted"),  # F1, F2, F8, F9
    "Reserved": ("Available", "Preparing", "Unavailable", "Faulted"),  # G1, G2, G8, G9
    "Unavailable": ("Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE",
                    "Faulted"),  # H1-H5, H9
    "Faulted": ("Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE",
                "Finishing", "Reserved", "Unavailable"),  # I1-I8
}  # fmt: skip


def test_the_table_is_section_4_9s_with_its_53_cells():
    assert {before: set(after) for before, after in ALLOWED.items()} == {
        before: set(after) for before, after in SPEC_TABLE.items()
    }
    assert len(CELLS) == 53


@pytest.mark.parametrize(
    ("cell_id", "previous", "status"),
    [
        ("A2", "Available", "Preparing"),
        ("A3", "Available", "Charging"),  # MinimumStatusDuration hides Preparing
        ("A7", "Available", "Reserved"),
        ("B1", "Preparing", "Available"),  # the user gives up, ConnectionTimeOut
        ("B6", "Preparing", "Finishing"),
        ("B9", "Preparing", "Faulted"),
        ("C1", "Charging", "Available"),
        ("C8", "Charging", "Unavailable"),  # ChangeAvailability scheduled, session ends
        ("D5", "SuspendedEV", "SuspendedEVSE"),
        ("E4", "SuspendedEVSE", "SuspendedEV"),
        ("F2", "Finishing", "Preparing"),  # a new session on the same cable
        ("G2", "Reserved", "Preparing"),
        ("H3", "Unavailable", "Charging"),
        ("I6", "Faulted", "Finishing"),
        ("I7", "Faulted", "Reserved"),
    ],
)
def test_filled_cells_of_the_table_are_allowed(cell_id, previous, status):
    assert cell(previous, status) == cell_id
    assert cell_id in CELLS
    assert judge(previous, status) == Transition.ALLOWED


@pytest.mark.parametrize(
    ("cell_id", "previous", "status"),
    [
        ("A6", "Available", "Finishing"),
        ("B7", "Preparing", "Reserved"),
        ("B8", "Preparing", "Unavailable"),
        ("C2", "Charging", "Preparing"),
        ("C7", "Charging", "Reserved"),
        ("D2", "SuspendedEV", "Preparing"),
        ("F3", "Finishing", "Charging"),
        ("F7", "Finishing", "Reserved"),
        ("G3", "Reserved", "Charging"),
        ("G6", "Reserved", "Finishing"),
        ("H6", "Unavailable", "Finishing"),
        ("H7", "Unavailable", "Reserved"),
    ],
)
def test_empty_cells_of_the_table_are_not_allowed(cell_id, previous, status):
    assert cell(previous, status) == cell_id
    assert cell_id not in CELLS
    assert judge(previous, status) != Transition.ALLOWED
    assert f"({cell_id}, an empty cell)" in judge_sequence([status], start=previous).describe()


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
