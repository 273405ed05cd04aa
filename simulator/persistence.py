"""The station's non-volatile memory: one JSON file per charge point id.

A real charger keeps its configuration, availability, firmware version and unsent transaction
messages across reboots; the simulator does the same so Reset, power cycle and process restarts
behave like the hardware. Without a directory everything lives in memory only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class StateFile:
    """A dict persisted atomically (write to a temporary file, then rename)."""

    def __init__(self, directory: str | os.PathLike[str] | None, charge_point_id: str) -> None:
        self.path: Path | None = None
        self.data: dict[str, Any] = {}
        if directory is not None:
            safe_id = "".join(c if c.isalnum() or c in "-_." else "_" for c in charge_point_id)
            self.path = Path(directory) / f"{safe_id}.json"
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists():
                self.data = json.loads(self.path.read_text(encoding="utf-8") or "{}")

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.save()

    def save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(self.path)
