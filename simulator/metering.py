"""Plausible meter readings for one connector.

The meter models a three-phase 230 V supply: current flows only while a transaction is
actively charging (not suspended), power is V x I per phase and the energy register integrates
power over time, so the register only grows and consecutive samples are consistent.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any

# Measurands the simulator can report, with unit and where the value is measured.
SUPPORTED_MEASURANDS: dict[str, tuple[str | None, str]] = {
    "Energy.Active.Import.Register": ("Wh", "Outlet"),
    "Voltage": ("V", "Outlet"),
    "Current.Import": ("A", "Outlet"),
    "Current.Offered": ("A", "Outlet"),
    "Power.Active.Import": ("W", "Outlet"),
    "Power.Offered": ("W", "Outlet"),
    "Frequency": (None, "Outlet"),
    "Temperature": ("Celsius", "Body"),
    "SoC": ("Percent", "EV"),
}
PER_PHASE = {"Voltage": ("L1-N", "L2-N", "L3-N"), "Current.Import": ("L1", "L2", "L3")}
PER_PHASE["Power.Active.Import"] = ("L1", "L2", "L3")
ESSENTIAL = ("Voltage", "Current.Import", "Power.Active.Import")

PHASES = 3
NOMINAL_VOLTAGE = 230.0
MAX_CURRENT = 16.0


def utc_now_iso() -> str:
    """OCPP timestamps: UTC with a Z suffix and millisecond precision."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Meter:
    """The energy meter of one connector."""

    def __init__(self, energy_wh: float = 0.0) -> None:
        self.energy_wh = energy_wh
        self.charging = False
        self.soc = 20.0
        self._last = time.monotonic()

    def set_charging(self, charging: bool) -> None:
        self.advance()
        self.charging = charging

    def advance(self) -> None:
        """Integrate power since the last reading into the energy register."""
        now = time.monotonic()
        elapsed = now - self._last
        self._last = now
        if self.charging:
            self.energy_wh += self._power_w() * elapsed / 3600.0
            self.soc = min(100.0, self.soc + elapsed * 0.05)

    def register_wh(self) -> int:
        self.advance()
        return int(self.energy_wh)

    def _current_a(self) -> float:
        return MAX_CURRENT + random.uniform(-0.2, 0.2) if self.charging else 0.0

    def _power_w(self) -> float:
        return PHASES * NOMINAL_VOLTAGE * (MAX_CURRENT if self.charging else 0.0)

    def _reading(self, measurand: str) -> float:
        voltage = NOMINAL_VOLTAGE + random.uniform(-2.0, 2.0)
        current = self._current_a()
        readings = {
            "Energy.Active.Import.Register": float(self.register_wh()),
            "Voltage": voltage,
            "Current.Import": current,
            "Current.Offered": MAX_CURRENT,
            "Power.Active.Import": PHASES * voltage * current,
            "Power.Offered": PHASES * NOMINAL_VOLTAGE * MAX_CURRENT,
            "Frequency": 50.0 + random.uniform(-0.05, 0.05),
            "Temperature": 30.0 + random.uniform(-1.0, 1.0),
            "SoC": self.soc,
        }
        return readings[measurand]

    def meter_value(
        self, measurands: list[str], context: str, per_phase: bool = False
    ) -> dict[str, Any]:
        """One MeterValue element (camelCase, as on the wire) with one entry per measurand."""
        sampled: list[dict[str, Any]] = []
        for measurand in measurands:
            if measurand not in SUPPORTED_MEASURANDS:
                continue
            value = self._reading(measurand)
            if per_phase and measurand in PER_PHASE:
                divisor = PHASES if measurand == "Power.Active.Import" else 1
                for phase in PER_PHASE[measurand]:
                    sampled.append(self._sample(measurand, value / divisor, context, phase))
            else:
                sampled.append(self._sample(measurand, value, context, None))
        return {"timestamp": utc_now_iso(), "sampledValue": sampled}

    @staticmethod
    def _sample(measurand: str, value: float, context: str, phase: str | None) -> dict[str, Any]:
        unit, location = SUPPORTED_MEASURANDS[measurand]
        text = f"{value:.0f}" if measurand.startswith("Energy") else f"{value:.1f}"
        sample = {
            "value": text,
            "context": context,
            "format": "Raw",
            "measurand": measurand,
            "location": location,
        }
        if unit:
            sample["unit"] = unit
        if phase:
            sample["phase"] = phase
        return sample
