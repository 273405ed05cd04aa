"""Shared pieces of the charging steps' tests (6, 7, 8, 11, 14): the lab's idTags on CertLab's
list, and a scripted station that also logs CertLab's answers to its own calls."""

from __future__ import annotations

import asyncio
from itertools import count

from asgiref.sync import sync_to_async

from campaigns.engine.params import LabParameters
from campaigns.services import lab_tags_prepare
from tests.campaigns.scripted import ScriptedStation


async def prepare_tags(**overrides) -> None:
    """What the engine does before a campaign: the valid tag Accepted on CertLab's list."""
    await sync_to_async(lab_tags_prepare)(params=LabParameters.fast(**overrides))


class AnsweringStation(ScriptedStation):
    """A scripted station whose calls CertLab answers: StartTransaction gets a transactionId,
    Authorize gets Accepted for the listed tags and Invalid for the rest."""

    def __init__(self, valid_tags=("CERTLAB-OK",)) -> None:
        super().__init__()
        self.valid_tags = set(valid_tags)
        self.transaction_ids = count(41)
        self._uids = count(1000)

    def station_call(self, action: str, payload: dict, delay: float = 0.0) -> None:
        """The station sends ``action``; CertLab's answer follows it in the log."""
        asyncio.get_running_loop().call_later(delay, self._call_now, action, payload)

    def _call_now(self, action: str, payload: dict) -> None:
        uid = f"sc-{next(self._uids)}"
        self._push("in", "CALL", action, uid, payload)
        self._push("out", "CALLRESULT", action, uid, self.answer(action, payload))

    def answer(self, action: str, payload: dict) -> dict:
        if action == "StartTransaction":
            return {"transactionId": next(self.transaction_ids), "idTagInfo": self._info(payload)}
        if action == "Authorize":
            return {"idTagInfo": self._info(payload)}
        if action == "StopTransaction":
            return {"idTagInfo": {"status": "Accepted"}}
        return {}

    def _info(self, payload: dict) -> dict:
        return {"status": "Accepted" if payload.get("idTag") in self.valid_tags else "Invalid"}

    def status(self, connector_id: int, status: str, delay: float = 0.0) -> None:
        self.station_call(
            "StatusNotification",
            {"connectorId": connector_id, "errorCode": "NoError", "status": status},
            delay,
        )


class ScriptedCharger(AnsweringStation):
    """A scripted charger with one connector that charges: RemoteStart starts a transaction
    (Preparing, StartTransaction, Charging), RemoteStop stops it (reason Remote), and its
    ``operator`` answers the cable and tag prompts like a person at the station would."""

    def __init__(self, *, remote_stop="Accepted", stop_reason=None, ev_side_stop=True) -> None:
        super().__init__()
        self.running: int | None = None
        self.stop_reason = stop_reason  # overrides the reason the station reports
        self.ev_side_stop = ev_side_stop
        self.on("RemoteStartTransaction", self._remote_start)
        self.on("RemoteStopTransaction", lambda p: self._remote_stop(p, remote_stop))
        self.on("ClearCache", {"status": "Accepted"})
        self.on(
            "GetConfiguration",
            {
                "configurationKey": [
                    {
                        "key": "StopTransactionOnEVSideDisconnect",
                        "readonly": False,
                        "value": "true" if ev_side_stop else "false",
                    }
                ]
            },
        )
        self.operator = _Operator(self)

    def answer(self, action: str, payload: dict) -> dict:
        result = super().answer(action, payload)
        if action == "StartTransaction":
            self.running = result["transactionId"]
        return result

    def _remote_start(self, payload: dict) -> dict:
        self.status(1, "Preparing", 0.01)
        start = {
            "connectorId": 1,
            "idTag": payload["idTag"],
            "meterStart": 0,
            "timestamp": "2026-01-01T00:00:00Z",
        }
        self.station_call("StartTransaction", start, 0.02)
        self.status(1, "Charging", 0.03)
        return {"status": "Accepted"}

    def _remote_stop(self, payload: dict, answer: str) -> dict:
        if answer == "Accepted":
            self.stop("Remote")
        return {"status": answer}

    def stop(self, reason: str, final: str = "Finishing") -> None:
        if self.running is None:
            return
        self.station_call(
            "StopTransaction",
            {
                "transactionId": self.running,
                "meterStop": 10,
                "timestamp": "2026-01-01T00:01:00Z",
                "reason": self.stop_reason or reason,
            },
            0.01,
        )
        self.running = None
        self.status(1, final, 0.02)


class _Operator:
    def __init__(self, charger: ScriptedCharger) -> None:
        self.charger = charger
        self.prompts: list[str] = []

    async def ask(self, prompt):
        from campaigns.engine.prompts import Answer

        self.prompts.append(prompt.text)
        charger = self.charger
        if prompt.text.startswith("Unplug"):
            if charger.running is not None and charger.ev_side_stop:
                charger.stop("EVDisconnected", final="Available")
            elif charger.running is None:
                charger.status(1, "Available", 0.01)
        elif "present the tag" in prompt.text:
            charger.stop("Local")
        return Answer("Done")
