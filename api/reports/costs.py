"""The money in a report: the tariff per support level and the NHS unit costs. Both are data
files a commissioner can change (defaults in directory_data/reports/, format documented
there), checked here with every problem named."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.referrals.enums import SupportLevel
from directory_data import DATA_DIR

DEFAULTS = DATA_DIR / "reports"
DEFAULT_TARIFF = DEFAULTS / "tariff.yaml"
DEFAULT_UNIT_COSTS = DEFAULTS / "nhs_unit_costs.yaml"

Pounds = Annotated[Decimal, Field(ge=0, le=1_000_000, decimal_places=2)]

# The NHS use a practice records (api/outcomes/models.py: NhsUse), in report order.
NHS_CATEGORIES = ("gp_appointments", "ae_attendances", "unplanned_admissions", "prescriptions")
NHS_LABELS = {
    "gp_appointments": "GP appointments",
    "ae_attendances": "A&E attendances",
    "unplanned_admissions": "Unplanned admissions",
    "prescriptions": "Prescription items",
}


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Levels(_File):
    LOW: Pounds
    MEDIUM: Pounds
    HIGH: Pounds


class _Maintenance(_File):
    amount: Pounds
    after_days: int = Field(ge=1, le=3650)


class _Targets(_File):
    # Shares in percent: of referrals contacted, those contacted within the target working
    # days; of people with a baseline and an end score, those who improved.
    contact_within_share: float = Field(default=90, ge=0, le=100)
    improved_share: float = Field(default=60, ge=0, le=100)


class _TariffFile(_File):
    currency: Literal["GBP"] = "GBP"
    levels: _Levels
    maintenance: _Maintenance
    targets: _Targets = _Targets()


class _UnitCostsFile(_File):
    currency: Literal["GBP"] = "GBP"
    gp_appointments: Pounds
    ae_attendances: Pounds
    unplanned_admissions: Pounds
    prescriptions: Pounds


@dataclass(frozen=True)
class Targets:
    """What the board measures the service against (the summary page): percentages."""

    contact_within_share: float = 90
    improved_share: float = 60


@dataclass(frozen=True)
class Tariff:
    levels: dict[SupportLevel, Decimal]
    maintenance: Decimal
    maintenance_after_days: int
    targets: Targets = Targets()


@dataclass(frozen=True)
class UnitCosts:
    costs: dict[str, Decimal]  # by NHS_CATEGORIES

    def pence(self, category: str) -> int:
        return int(self.costs[category] * 100)


class CostFileError(ValueError):
    """A tariff or unit-cost file a person must correct: every problem, with where it is."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems))


def _read(path: Path, model: type[_File]) -> _File:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CostFileError(path, [f"cannot read it ({exc.strerror})"]) from None
    except yaml.YAMLError as exc:
        raise CostFileError(path, [f"not valid YAML: {exc}"]) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "(the file)"
            problems.append(f"{where}: {error['msg']}")
        raise CostFileError(path, problems) from None


def load_tariff(path: Path = DEFAULT_TARIFF) -> Tariff:
    data = _read(path, _TariffFile)
    assert isinstance(data, _TariffFile)
    return Tariff(
        levels={level: getattr(data.levels, level.value) for level in SupportLevel},
        maintenance=data.maintenance.amount,
        maintenance_after_days=data.maintenance.after_days,
        targets=Targets(data.targets.contact_within_share, data.targets.improved_share),
    )


def load_unit_costs(path: Path = DEFAULT_UNIT_COSTS) -> UnitCosts:
    data = _read(path, _UnitCostsFile)
    return UnitCosts({c: getattr(data, c) for c in NHS_CATEGORIES})
