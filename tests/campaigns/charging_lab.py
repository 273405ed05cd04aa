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
