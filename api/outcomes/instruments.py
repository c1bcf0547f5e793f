"""Outcome instruments as data: read from ``outcomes/*.yaml`` in a directory folder (format in
directory_data/README.md), checked, and saved by key. Loading twice changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import orm, select

from api.directory.loading import LoadError, LoadReport, Problem
from api.outcomes.enums import Direction
from api.outcomes.models import OutcomeInstrument

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,79}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemIn(_Record):
    key: Key
    text: Text
    direction: Direction | None = None  # overrides the instrument's


class ScaleIn(_Record):
    min: int
    max: int
    labels: dict[int, Text] = {}


class InstrumentIn(_Record):
    key: Key
    name: Text
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""
    scale: ScaleIn
    direction: Direction
    items: list[ItemIn] = Field(min_length=1, max_length=50)
    # A lead provider may set its own scales (the star tool it licenses).
    configurable: bool = False


def _problems_of(model: InstrumentIn) -> list[str]:
    found = []
    if model.scale.min >= model.scale.max:
        found.append("scale: min must be below max")
    for point in model.scale.labels:
        if not model.scale.min <= point <= model.scale.max:
            found.append(f"scale: label for {point}, which is outside the scale")
    keys = [item.key for item in model.items]
    for key in sorted({k for k in keys if keys.count(k) > 1}):
        found.append(f"items: key '{key}' is used twice")
    return found


def read_instruments(folder: Path) -> list[InstrumentIn]:
    """Every instrument in ``folder`` (``outcomes/`` of a directory folder); LoadError with
    every problem, as ``file:line: message``, when any file is wrong."""
    problems: list[Problem] = []
    found: list[tuple[str, InstrumentIn]] = []
    for path in sorted(folder.glob("*.yaml")):
        name = f"{folder.name}/{path.name}"
        try:
            raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            problems.append(Problem(name, mark.line + 1 if mark else 1, f"not valid YAML: {exc}"))
            continue
        try:
            model = InstrumentIn.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(p) for p in error["loc"]) or "instrument"
                problems.append(Problem(name, 1, f"{where}: {error['msg']}"))
            continue
        problems.extend(Problem(name, 1, message) for message in _problems_of(model))
        for other_name, other in found:
            if other.key == model.key:
                problems.append(Problem(name, 1, f"key '{model.key}' is also used in {other_name}"))
        found.append((name, model))
    if problems:
        raise LoadError(problems)
    return [model for _name, model in found]


def _values(model: InstrumentIn) -> dict[str, Any]:
    return {
        "key": model.key,
        "name": model.name,
        "description": model.description,
        "scale_min": model.scale.min,
        "scale_max": model.scale.max,
        "direction": model.direction,
        "items": [
            {"key": i.key, "text": i.text, "direction": (i.direction or model.direction).value}
            for i in model.items
        ],
        "scale_labels": {str(k): v for k, v in sorted(model.scale.labels.items())} or None,
        "configurable": model.configurable,
    }


def save_instruments(db: orm.Session, models: list[InstrumentIn], report: LoadReport) -> None:
    existing = {
        row.key: row
        for row in db.scalars(
            select(OutcomeInstrument).where(OutcomeInstrument.owner_provider_id.is_(None))
        )
    }
    for model in models:
        values = _values(model)
        row = existing.get(model.key)
        if row is None:
            db.add(OutcomeInstrument(**values))
            report.count("outcome instrument", "created")
            continue
        changed = False
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        report.count("outcome instrument", "updated" if changed else "unchanged")


def load_instruments(db: orm.Session, folder: Path, report: LoadReport | None = None) -> LoadReport:
    report = report or LoadReport()
    if folder.is_dir():
        save_instruments(db, read_instruments(folder), report)
    return report
