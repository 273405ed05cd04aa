"""What each step, criterion or part of a check needs of the station: the one place that maps the
vendor's declaration (stations.capabilities) to applicability.

Keys: ``"10"`` a whole step (planned not applicable), ``"6.b"`` a criterion (marked not applicable
by the engine before the step runs, whatever the step then records for it), ``"1.a/iccid"`` a
part of a check a step leaves out (it asks ``ctx.lacks(key)``). A need is a capability flag name
or ``profile:<FeatureProfile>``; a profile need only counts when the profiles are declared.

Declared but deciding nothing here: a display and the connector types (no criterion needs them).
"""

from __future__ import annotations

from stations.capabilities import FLAGS, Capabilities

NEEDS: dict[str, tuple[str, ...]] = {
    # 1.a asks for an iccid: only a station with a modem has one.
    "1.a/iccid": ("has_modem",),
    # "send OCPP command to see heartbeat": TriggerMessage is the RemoteTrigger profile.
    "2.b": ("profile:RemoteTrigger",),
    # The spec makes UnlockConnectorOnEVSideDisconnect read-write; without a lock read-only is fair.
    "4.a/UnlockConnectorOnEVSideDisconnect": ("has_connector_lock",),
    # Local start: a valid tag presented at the station (6.b), an unknown one (6.c).
    "6.b": ("has_rfid_reader",),
    "6.c": ("has_rfid_reader",),
    # Local stop: the same tag presented again (7.b); the cable unplugged on the EV side (7.c).
    "7.b": ("has_rfid_reader",),
    "7.c": ("has_cable_sensing",),
    # Both of step 9's criteria are "comes online after reset (BootNotification …)": a station
    # declared not to reboot on Reset cannot be judged by them (campaigns/steps/reset.py).
    "9": ("reboots_on_reset",),
    "9.a": ("reboots_on_reset",),
    "9.b": ("reboots_on_reset",),
    # Hardware errors are provoked on the bench.
    "10": ("has_fault_injection",),
    # Cable status: plugging and unplugging, and the connection timeout without a cable.
    "11": ("has_cable_sensing",),
    # UpdateFirmware and GetDiagnostics: the FirmwareManagement profile (OCPP 1.6 section 3).
    "12": ("profile:FirmwareManagement",),
    "13": ("profile:FirmwareManagement",),
    "16": ("profile:RemoteTrigger",),
}

# What leaving a part out means, as the campaign page says it before the run.
PART_TEXT = {
    "1.a/iccid": "the BootNotification's iccid is not required",
    "4.a/UnlockConnectorOnEVSideDisconnect": "UnlockConnectorOnEVSideDisconnect may be read-only",
}

LACKING_TEXT = {
    "has_rfid_reader": "the station has no RFID reader",
    "has_cable_sensing": "the station has no cable sensing (no cable or EV simulator to plug)",
    "has_fault_injection": "no hardware error can be provoked on the station (no fault injection)",
    "has_modem": "the station has no modem, so no ICCID",
    "reboots_on_reset": "the station does not reboot on Reset",
    "has_connector_lock": "the station has no connector lock",
    "has_display": "the station has no display",
}
assert set(LACKING_TEXT) == set(FLAGS)
assert set(PART_TEXT) == {key for key in NEEDS if "/" in key}


def _lacking(capabilities: Capabilities, need: str) -> str | None:
    if need.startswith("profile:"):
        profile = need.removeprefix("profile:")
        if capabilities.declares_profile(profile) is False:
            return (
                f"the station does not support the {profile} feature profile "
                f"({capabilities.source('feature_profiles')}: "
                f"{', '.join(capabilities.feature_profiles)})"
            )
        return None
    if getattr(capabilities, need):
        return None
    return f"{LACKING_TEXT[need]} ({capabilities.source(need)})"


def lacks(capabilities: Capabilities, key: str) -> str | None:
    """Why ``key`` does not apply to this station, or None when it does (or needs nothing)."""
    reasons = [r for need in NEEDS.get(key, ()) if (r := _lacking(capabilities, need))]
    return "; ".join(reasons) or None


def step_lacks(capabilities: Capabilities, number: int) -> str | None:
    reason = lacks(capabilities, str(number))
    return f"Not applicable: {reason}." if reason else None


def criteria_lacking(capabilities: Capabilities, criteria: tuple[str, ...]) -> dict[str, str]:
    """The criteria among ``criteria`` that do not apply, each with its reason."""
    found = {c: lacks(capabilities, c) for c in criteria}
    return {c: f"Not applicable: {reason}." for c, reason in found.items() if reason}


def parts_lacking(capabilities: Capabilities, criteria: tuple[str, ...]) -> dict[str, str]:
    """The parts of checks of ``criteria`` a step leaves out, each with what that means and
    why: {"1.a/iccid": "the BootNotification's iccid is not required: the station has no…"}."""
    parts = (k for k in NEEDS if "/" in k and k.split("/", 1)[0] in criteria)
    found = {k: lacks(capabilities, k) for k in parts}
    return {k: f"{PART_TEXT[k]}: {reason}" for k, reason in found.items() if reason}
