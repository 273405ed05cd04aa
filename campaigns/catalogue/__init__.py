"""The test catalogue: the 16 functions of the seed reports with their acceptance criteria,
verbatim, each criterion with a stable id. Kept as versioned data files beside this module and
loaded into the database (campaigns.models.CatalogueVersion) by a migration."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOGUE_DIR = Path(__file__).resolve().parent
CURRENT_VERSION = "gfx-ocpp16-1"


@dataclass(frozen=True)
class CriterionData:
    id: str
    text: str


@dataclass(frozen=True)
class FunctionData:
    number: int
    title: str
    step: str
    criteria: tuple[CriterionData, ...]

    @property
    def criterion_ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.criteria)


@dataclass(frozen=True)
class CatalogueData:
    version: str
    title: str
    source: str
    functions: tuple[FunctionData, ...]

    def function(self, number: int) -> FunctionData:
        for function in self.functions:
            if function.number == number:
                return function
        raise LookupError(f"no function {number} in catalogue {self.version}")


@cache
def load_catalogue(version: str = CURRENT_VERSION) -> CatalogueData:
    raw = json.loads((CATALOGUE_DIR / f"{version}.json").read_text())
    return CatalogueData(
        version=raw["version"],
        title=raw["title"],
        source=raw["source"],
        functions=tuple(
            FunctionData(
                number=f["number"],
                title=f["title"],
                step=f["step"],
                criteria=tuple(CriterionData(c["id"], c["text"]) for c in f["criteria"]),
            )
            for f in raw["functions"]
        ),
    )
