"""Defect switches: each makes the simulator misbehave in one way a certification step checks.

Every defect changes what a Central System receives, so each failing verdict of the 16 seed
functions can be rehearsed against the built-in station. ``--defects help`` prints this table.
"""

from __future__ import annotations

BOOT_WITHOUT_SERIAL = "boot_without_serial"
BOOT_WITHOUT_ICCID = "boot_without_iccid"
NO_HEARTBEAT = "no_heartbeat"
IGNORE_HEARTBEAT_INTERVAL = "ignore_heartbeat_interval"
GET_CONFIGURATION_MISSING_KEYS = "get_configuration_missing_keys"
CHANGE_CONFIGURATION_NOT_SUPPORTED = "change_configuration_not_supported"
NO_STATUS_ON_AVAILABILITY_CHANGE = "no_status_on_availability_change"
NO_START_AFTER_REMOTE_START = "no_start_after_remote_start"
STOPS_TRANSACTIONS_BY_ITSELF = "stops_transactions_by_itself"
FINISHING_REJECTS_REMOTE_START = "finishing_rejects_remote_start"
LIVE_METER_VALUES_FIRST = "live_meter_values_first"
METER_WRONG_INTERVAL = "meter_wrong_interval"
METER_WITHOUT_VOLTAGE_CURRENT_POWER = "meter_without_voltage_current_power"
NO_REBOOT_AFTER_RESET = "no_reboot_after_reset"
FIRMWARE_NEVER_INSTALLED = "firmware_never_installed"
DIAGNOSTICS_UPLOAD_FAILS = "diagnostics_upload_fails"
OFFLINE_TRANSACTIONS_LOST = "offline_transactions_lost"
CLEAR_CACHE_REJECTED = "clear_cache_rejected"
TRIGGER_MESSAGE_IGNORED = "trigger_message_ignored"
SCHEMA_INVALID_FRAMES = "schema_invalid_frames"
NO_MODEM = "no_modem"
ACCEPT_ANY_CONFIGURATION_VALUE = "accept_any_configuration_value"
READONLY_UNLOCK_ON_EV_SIDE_DISCONNECT = "readonly_unlock_on_ev_side_disconnect"
# What real chargers do that a step must judge as OCPP 1.6 does, no stricter (OCPP-NOTES).
NO_PREPARING = "no_preparing"
STOP_TXN_SAMPLED_DATA_EMPTY = "stop_txn_sampled_data_empty"
NO_CONNECTOR_ZERO_STATUS_AFTER_BOOT = "no_connector_zero_status_after_boot"
REMOTE_STOP_WITHOUT_REASON = "remote_stop_without_reason"
EXIT_ON_RESET = "exit_on_reset"

DESCRIPTIONS: dict[str, str] = {
    BOOT_WITHOUT_SERIAL: "BootNotification without chargePointSerialNumber/chargeBoxSerialNumber",
    BOOT_WITHOUT_ICCID: "BootNotification without iccid (and imsi)",
    NO_HEARTBEAT: "never sends a periodic Heartbeat (a triggered one is still sent)",
    IGNORE_HEARTBEAT_INTERVAL: "keeps the HeartbeatInterval it started with; boot answer and "
    "ChangeConfiguration are accepted but ignored",
    GET_CONFIGURATION_MISSING_KEYS: "GetConfiguration leaves out HeartbeatInterval, "
    "MeterValueSampleInterval, ConnectionTimeOut and AuthorizeRemoteTxRequests",
    CHANGE_CONFIGURATION_NOT_SUPPORTED: "every ChangeConfiguration is answered NotSupported",
    NO_STATUS_ON_AVAILABILITY_CHANGE: "ChangeAvailability is applied without StatusNotification",
    NO_START_AFTER_REMOTE_START: "RemoteStartTransaction Accepted, then no StartTransaction",
    STOPS_TRANSACTIONS_BY_ITSELF: "ends every transaction by itself (reason Local) a fixed time "
    "after it started (Timing.auto_stop_after, 60 s)",
    FINISHING_REJECTS_REMOTE_START: "after a stop the connector stays Finishing for a while "
    "(Timing.finishing_hold, 2 s) even with the cable out, and RemoteStartTransaction is Rejected "
    "while it is Finishing",
    LIVE_METER_VALUES_FIRST: "on reconnect, a live MeterValues of each connector is sent ahead "
    "of the offline queue",
    METER_WRONG_INTERVAL: "sampled MeterValues every 2 x MeterValueSampleInterval",
    METER_WITHOUT_VOLTAGE_CURRENT_POWER: "meter values carry only the energy register",
    NO_REBOOT_AFTER_RESET: "Reset Accepted, then no reboot (no new BootNotification)",
    FIRMWARE_NEVER_INSTALLED: "UpdateFirmware stops at Installing: no reboot, no Installed",
    DIAGNOSTICS_UPLOAD_FAILS: "GetDiagnostics reports Uploading then UploadFailed, uploads nothing",
    OFFLINE_TRANSACTIONS_LOST: "transaction messages produced while offline are discarded",
    CLEAR_CACHE_REJECTED: "ClearCache answered Rejected, the cache is kept",
    TRIGGER_MESSAGE_IGNORED: "TriggerMessage answered Accepted, then nothing is sent",
    SCHEMA_INVALID_FRAMES: "StatusNotification frames violate the schema (errorCode 'noError', "
    "connectorId as a string)",
    NO_MODEM: "no modem: BootNotification with an empty iccid and no imsi",
    ACCEPT_ANY_CONFIGURATION_VALUE: "ChangeConfiguration of a writable key Accepted and stored "
    "whatever the value (HeartbeatInterval=abc included; an unreadable interval then counts as 0)",
    READONLY_UNLOCK_ON_EV_SIDE_DISCONNECT: "UnlockConnectorOnEVSideDisconnect read-only (listed "
    "readonly, ChangeConfiguration Rejected), as on stations without a connector lock",
    NO_PREPARING: "Preparing is never reported (MinimumStatusDuration or a fast state machine "
    "hides it): Available -> Charging, a valid OCPP 1.6 transition (A3)",
    STOP_TXN_SAMPLED_DATA_EMPTY: "StopTxnSampledData ships empty and no Transaction.Begin "
    "MeterValues: sampled start/stop values only once the Central System sets StopTxnSampledData",
    NO_CONNECTOR_ZERO_STATUS_AFTER_BOOT: "after a boot, StatusNotification for the connectors but "
    "none for connector 0 (OCTT TC_001 asks for it)",
    REMOTE_STOP_WITHOUT_REASON: "StopTransaction after a RemoteStopTransaction carries no reason "
    "(which means Local; OCTT TC_012 expects Remote)",
    EXIT_ON_RESET: "Reset Accepted, then the process exits (the socket drops without a close "
    "frame, transactions are not stopped) and a supervisor restarts it: a new connection "
    "at once and a BootNotification",
}

ALL_DEFECTS: frozenset[str] = frozenset(DESCRIPTIONS)


def parse_defects(text: str | None) -> frozenset[str]:
    """Parse a comma-separated list; unknown names fail loudly so a typo never goes unnoticed."""
    if not text:
        return frozenset()
    names = {part.strip() for part in text.split(",") if part.strip()}
    unknown = names - ALL_DEFECTS
    if unknown:
        raise ValueError(f"unknown defect(s): {', '.join(sorted(unknown))}; try --defects help")
    return frozenset(names)


def describe_defects() -> str:
    """The help table printed by ``--defects help``."""
    width = max(len(name) for name in DESCRIPTIONS)
    return "\n".join(f"{name.ljust(width)}  {text}" for name, text in DESCRIPTIONS.items())
