"""4 · Get configuration (list parameters that can be read).

GetConfiguration without keys must return the complete list (OCTT TC_019): the number of keys,
every key OCPP 1.6 section 9 requires for the Core profile and for the other profiles listed in
SupportedFeatureProfiles, each with the readonly flag the specification gives it. Keys missing
from the full list are then asked for by name, together with a made-up key that must come back
in unknownKey (TC_040_1). The list is attached as evidence.

What the station reports is compared with what its vendor declared (SupportedFeatureProfiles
with the declared profiles, NumberOfConnectors with the model's connectors): every difference is
flagged for QA, since the campaign plan was drawn from the declaration. A station declared without
a connector lock may keep UnlockConnectorOnEVSideDisconnect read-only.
"""

import uuid

from campaigns.engine.context import StepContext
from campaigns.engine.replies import CallReply
from campaigns.engine.results import Outcome

NUMBER = 4
CRITERIA = ("4.a",)

R, RW, ANY = "R", "RW", "R/RW"  # ANY: the specification leaves it to the implementation
# OCPP 1.6 section 9.1: the Core profile's required keys and their accessibility.
CORE = {
    "AuthorizeRemoteTxRequests": ANY,
    "ClockAlignedDataInterval": RW,
    "ConnectionTimeOut": RW,
    "ConnectorPhaseRotation": RW,
    "GetConfigurationMaxKeys": R,
    "HeartbeatInterval": RW,
    "LocalAuthorizeOffline": RW,
    "LocalPreAuthorize": RW,
    "MeterValuesAlignedData": RW,
    "MeterValuesSampledData": RW,
    "MeterValueSampleInterval": RW,
    "NumberOfConnectors": R,
    "ResetRetries": RW,
    "StopTransactionOnEVSideDisconnect": RW,
    "StopTransactionOnInvalidId": RW,
    "StopTxnAlignedData": RW,
    "StopTxnSampledData": RW,
    "SupportedFeatureProfiles": R,
    "TransactionMessageAttempts": RW,
    "TransactionMessageRetryInterval": RW,
    "UnlockConnectorOnEVSideDisconnect": RW,
}
# Sections 9.2-9.4: required keys of the other profiles, when SupportedFeatureProfiles lists them.
PROFILES = {
    "LocalAuthListManagement": {
        "LocalAuthListEnabled": RW,
        "LocalAuthListMaxLength": R,
        "SendLocalListMaxLength": R,
    },
    "SmartCharging": {
        "ChargeProfileMaxStackLevel": R,
        "ChargingScheduleAllowedChargingRateUnit": R,
        "ChargingScheduleMaxPeriods": R,
        "MaxChargingProfilesInstalled": R,
    },
}


async def run(ctx: StepContext) -> None:
    reply = await ctx.call("GetConfiguration", {})
    entries = _entries(reply)
    if not entries:
        detail = f"GetConfiguration without keys answered {reply.describe()}: no configuration keys"
        ctx.check("4.a", False, detail, evidence=reply.frames, key="4.a#list")
        return
    listed = {e["key"]: e for e in entries}
    table = [{"key": e["key"], "readonly": e.get("readonly"), "value": e.get("value")}
             for e in entries]  # fmt: skip
    ctx.attach("configuration", table)
    doubles = sorted({e["key"] for e in entries if sum(x["key"] == e["key"] for x in entries) > 1})
    detail = f"GetConfiguration without keys returned {len(entries)} keys" + (
        f"; listed more than once: {', '.join(doubles)}" if doubles else ""
    )
    ctx.check("4.a", not doubles, detail, evidence=reply.frames, key="4.a#list")

    required = _required(listed)
    missing = [key for key in required if key not in listed]
    await _ask_by_name(ctx, missing, len(required), listing=reply)
    _check_flags(ctx, listed, required, reply)
    _check_declaration(ctx, listed, reply)
    if all(result.outcome == Outcome.PASSED for result in ctx.results):
        ctx.summary(f"Ok, Configuration ({len(entries)}) Full list")


def _entries(reply: CallReply) -> list[dict]:
    payload = reply.payload if reply.ok and isinstance(reply.payload, dict) else {}
    found = payload.get("configurationKey") or []
    return [e for e in found if isinstance(e, dict) and isinstance(e.get("key"), str)]


def _required(listed: dict[str, dict]) -> dict[str, str]:
    """The required keys with their accessibility, for the profiles the station says it has."""
    profiles = str((listed.get("SupportedFeatureProfiles") or {}).get("value") or "")
    required = dict(CORE)
    for profile in (p.strip() for p in profiles.split(",")):
        required.update(PROFILES.get(profile, {}))
    return required


async def _ask_by_name(
    ctx: StepContext, missing: list[str], required: int, *, listing: CallReply
) -> None:
    """Ask for the missing keys and a made-up one: the made-up one must be an unknownKey, and a
    missing key known when asked by name shows the full list is incomplete."""
    made_up = f"CertLab.NoSuchKey.{uuid.uuid4().hex[:8]}"
    reply = await ctx.call("GetConfiguration", {"key": [*missing, made_up]})
    payload = reply.payload if reply.ok and isinstance(reply.payload, dict) else {}
    unknown = payload.get("unknownKey") or []
    known = {e["key"] for e in _entries(reply)}
    ok = reply.ok and made_up in unknown and made_up not in known
    detail = f"GetConfiguration [{made_up}] answered {reply.describe()}: " + (
        "the made-up key is listed in unknownKey" if ok else "the made-up key is not in unknownKey"
    )
    ctx.check("4.a", ok, detail, evidence=reply.frames, key="4.a#unknown")
    if not missing:
        detail = f"All {required} required keys of OCPP 1.6 section 9 are in the full list"
        ctx.check("4.a", True, detail, evidence=listing.frames, key="4.a#required")
        return
    hidden = [key for key in missing if key in known]
    absent = [key for key in missing if key not in known]
    parts = []
    if hidden:
        parts.append(f"known when asked by name but left out of the full list: {', '.join(hidden)}")
    if absent:
        parts.append(f"not supported at all: {', '.join(absent)}")
    detail = "Required configuration keys (OCPP 1.6 section 9) missing; " + "; ".join(parts)
    ctx.check("4.a", False, detail, evidence=[*listing.frames, *reply.frames], key="4.a#required")


def _check_flags(
    ctx: StepContext, listed: dict[str, dict], required: dict[str, str], reply: CallReply
) -> None:
    wrong = []
    for key, access in required.items():
        entry = listed.get(key)
        if entry is None or access == ANY or ctx.lacks(f"4.a/{key}"):
            continue
        readonly = entry.get("readonly")
        if readonly is not (access == R):
            wrong.append(f"{key} readonly={readonly} ({access} in the specification)")
    detail = (
        "readonly flags differ from OCPP 1.6 section 9: " + "; ".join(wrong)
        if wrong
        else "Every required key listed has the readonly flag of OCPP 1.6 section 9"
    )
    excused = [key for key in required if key in listed and ctx.lacks(f"4.a/{key}")]
    for key in excused:
        detail += f"; {key} may be read-only: {ctx.lacks(f'4.a/{key}')}"
    ctx.check("4.a", not wrong, detail, evidence=reply.frames, key="4.a#readonly")


def _value(listed: dict[str, dict], key: str) -> str | None:
    value = (listed.get(key) or {}).get("value")
    return None if value is None else str(value)


def _check_declaration(ctx: StepContext, listed: dict[str, dict], reply: CallReply) -> None:
    """Every difference between the vendor's declaration and what the station reports."""
    declared = ctx.station.capabilities
    differences, compared = [], []
    reported = _value(listed, "SupportedFeatureProfiles")
    if declared.feature_profiles and reported is not None:
        compared.append("SupportedFeatureProfiles")
        have = {p.strip() for p in reported.split(",") if p.strip()}
        lacking = [p for p in declared.feature_profiles if p not in have]
        extra = sorted(have - set(declared.feature_profiles))
        if lacking:
            differences.append(f"declared, not in SupportedFeatureProfiles: {', '.join(lacking)}")
        if extra:
            differences.append(f"in SupportedFeatureProfiles, not declared: {', '.join(extra)}")
    connectors = _value(listed, "NumberOfConnectors")
    if connectors is not None:
        compared.append("NumberOfConnectors")
        if connectors.strip() != str(ctx.station.connector_count):
            differences.append(
                f"NumberOfConnectors is {connectors}, the model has {ctx.station.connector_count}"
            )
    if not compared:
        detail = "Nothing to compare with the declaration (no SupportedFeatureProfiles declared "
        detail += "and no NumberOfConnectors reported)"
        ctx.check("4.a", None, detail, evidence=reply.frames, key="4.a#declaration")
        return
    if differences:
        detail = "The station reports other than its declaration: " + "; ".join(differences)
        detail += " (the plan was drawn from the declaration: QA to judge)"
    else:
        detail = f"{' and '.join(compared)} as declared"
        if not declared.feature_profiles:
            detail += "; no feature profiles declared to compare SupportedFeatureProfiles with"
    ctx.check("4.a", True if not differences else None, detail, evidence=reply.frames,
              key="4.a#declaration", flagged=bool(differences))  # fmt: skip
