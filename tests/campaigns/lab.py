"""A lab for running steps for real: CertLab's endpoint in a real daphne, the real FTP server,
the built-in simulator as the station, and the station bus through Redis. Steps run in the test
process exactly as in a worker (only Celery is left out: test_campaign_e2e.py has that)."""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.files.base import ContentFile

from campaigns.bus_port import BusPort
from campaigns.engine.context import StationInfo, StepContext
from campaigns.engine.params import LabParameters
from campaigns.engine.runner import StepRun, run_step
from campaigns.execution import LabFiles, time_limit
from campaigns.services import lab_tags_prepare
from campaigns.steps import step_module
from simulator import Simulator
from stations import registry
from stations.capabilities import Capabilities
from stations.models import ChargerModel, FirmwareVersion, Manufacturer, Station
from tests.processes import (
    PYTHON,
    ManagedProcess,
    daphne,
    free_port,
    test_database_url,
    wait_for_port,
)

IDENTITY = {
    "vendor": "HICONICS",
    "model": "HK-180-1000-AE2",
    "serial": "HK18010000001",
    "iccid": "8931440400000000001",
    "firmware": "V112_72900_08001",
}
UPDATE_VERSION = "V112_72900_08002"


def child_environment() -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "certlab.settings",
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "CERTLAB_DATA_DIR": str(settings.DATA_DIR),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "DEBUG": "false",
    }


@dataclass
class LabServers:
    http_port: int
    ftp_port: int
    processes: list[ManagedProcess] = field(default_factory=list)

    @contextlib.contextmanager
    def running(self, log_dir: Path, env: dict[str, str]):
        passive = free_port()
        ftp_env = {**env, "CERTLAB_FTP_PASSIVE_PORTS": f"{passive}-{passive}"}
        self.processes = [
            daphne(self.http_port, log_path=log_dir / "daphne.log", env=env),
            ManagedProcess(
                [PYTHON, "manage.py", "ftpserver", "--host", "127.0.0.1",
                 "--port", str(self.ftp_port), "--passive-ports", f"{passive}-{passive}"],
                log_path=log_dir / "ftp.log",
                env=ftp_env,
            ),
        ]  # fmt: skip
        try:
            for process in self.processes:
                process.start()
            wait_for_port(self.http_port, timeout=60)
            wait_for_port(self.ftp_port, timeout=60)
            yield self
        finally:
            for process in self.processes:
                process.stop()


class Lab:
    """One station under test per test: its records, its simulator, and the steps run on it."""

    def __init__(self, servers: LabServers) -> None:
        self.servers = servers
        self.simulator: Simulator | None = None
        self.station: Station | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.servers.http_port}/ocpp/"

    async def start(
        self,
        *,
        defects: tuple[str, ...] = (),
        charge_point_id: str = "LAB-SIM-01",
        identity: dict[str, str] | None = None,
        state_dir: Path | None = None,
    ) -> Simulator:
        self.station = await sync_to_async(_station_records)(charge_point_id)
        self.simulator = Simulator(
            self.url + charge_point_id,
            connectors=2,
            defects=frozenset(defects),
            fast=True,
            state_dir=state_dir,
            **(identity or IDENTITY),
        )
        await self.simulator.start()
        await self.simulator.wait_online(timeout=15)
        return self.simulator

    async def stop(self) -> None:
        if self.simulator is None:
            return
        await self.simulator.stop()
        self.simulator = None
        # Let daphne see the disconnect and write the station's last frames before the test's
        # tables are flushed (a flush racing those inserts can deadlock).
        for _ in range(50):
            if await registry.channel_of(self.station.charge_point_id) is None:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)

    async def run(
        self,
        number: int,
        *,
        capabilities: Capabilities | None = None,
        prompts=None,
        **param_overrides,
    ) -> tuple[StepRun, StepContext]:
        """Run step ``number``; ``capabilities``: the station's declaration (default: all);
        ``prompts``: the operator (default: none, the simulator does the manual part)."""
        params = LabParameters.fast(**param_overrides)
        station = self.station
        files = await sync_to_async(_files)(station)
        await sync_to_async(lab_tags_prepare)(params=params)
        ctx = StepContext(
            port=BusPort(station.charge_point_id),
            station=StationInfo(
                charge_point_id=station.charge_point_id,
                connector_count=2,
                vendor=IDENTITY["vendor"],
                model=IDENTITY["model"],
                serial_number=IDENTITY["serial"],
                iccid=IDENTITY["iccid"],
                firmware_version=IDENTITY["firmware"],
                is_simulator=True,
                capabilities=capabilities or Capabilities(connector_count=2),
            ),
            params=params,
            files=files,
            prompts=prompts,
        )
        run = await run_step(step_module(number), ctx, time_limit=time_limit(params))
        return run, ctx


def _station_records(charge_point_id: str) -> Station:
    maker, _ = Manufacturer.objects.get_or_create(name=IDENTITY["vendor"])
    model, _ = ChargerModel.objects.get_or_create(
        manufacturer=maker,
        name=IDENTITY["model"],
        defaults={"connector_count": 2, "current_type": "DC", "max_power_kw": 180},
    )
    current, _ = FirmwareVersion.objects.get_or_create(
        charger_model=model, version=IDENTITY["firmware"]
    )
    update, new = FirmwareVersion.objects.get_or_create(charger_model=model, version=UPDATE_VERSION)
    if new or not update.file:
        content = f"version: {UPDATE_VERSION}\n".encode() + bytes(range(256)) * 16
        update.file.save(f"{model.name}-{UPDATE_VERSION}.bin", ContentFile(content), save=True)
    station, _ = Station.objects.update_or_create(
        charge_point_id=charge_point_id,
        defaults={
            "charger_model": model,
            "expected_firmware": current,
            "serial_number": IDENTITY["serial"],
            "iccid": IDENTITY["iccid"],
            "is_simulator": True,
        },
    )
    return station


def _files(station: Station) -> LabFiles:
    update = FirmwareVersion.objects.get(
        charger_model=station.charger_model, version=UPDATE_VERSION
    )
    return LabFiles(station=station, update_firmware=update)
