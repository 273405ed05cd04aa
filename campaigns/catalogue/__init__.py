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


def sync_catalogue(
    catalogue_model, function_model, criterion_model, version: str = CURRENT_VERSION
):
    """Create the database rows of a catalogue version where missing; return the version row.
    Takes the model classes so the data migration can pass its historical ones."""
    data = load_catalogue(version)
    catalogue, _ = catalogue_model.objects.get_or_create(
        version=data.version, defaults={"title": data.title, "source": data.source}
    )
    for function in data.functions:
        row, _ = function_model.objects.get_or_create(
            catalogue=catalogue,
            number=function.number,
            defaults={"title": function.title, "step": function.step},
        )
        for order, criterion in enumerate(function.criteria):
            criterion_model.objects.get_or_create(
                function=row, key=criterion.id, defaults={"text": criterion.text, "order": order}
            )
    return catalogue
