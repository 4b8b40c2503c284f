"""Scenario presets: data files `<id>.toml` in a family's presets folder (FamilyAPI.presets; `datasets/<family>/`
for the families shipped with optkit), merged over the family's `_defaults.toml`.

A preset file holds `id`, `description`, a `[params]` table of overrides and optionally a `[sweep]`
table with `name` (the swept quantity) and `points`, a list of tables each with a `label` and overrides.
"""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from optkit.errors import InputError, UnknownNameError


def presets_folder(family: str) -> Path:
    """The folder of a family's data files (its FamilyAPI.presets)."""
    from optkit import registry

    return registry.get_family(family).presets_folder()


@dataclass(frozen=True)
class SweepPoint:
    label: str
    params: dict


@dataclass(frozen=True)
class Scenario:
    """A named preset: merged parameters, plus sweep points when the preset is a sweep."""

    family: str
    id: str
    description: str
    params: dict
    sweep_name: str | None
    points: tuple[SweepPoint, ...]

    def expand(self) -> list[SweepPoint]:
        """Sweep points with fully merged parameters; a plain preset is one point labelled ''."""
        if not self.points:
            return [SweepPoint("", copy.deepcopy(self.params))]
        return [SweepPoint(p.label, merge(self.params, p.params)) for p in self.points]


def merge(base: dict, overrides: dict) -> dict:
    """Recursive dict merge; overrides win."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read(path: Path) -> dict:
    """The parsed TOML file (a fresh copy; files are parsed once per change of their modification time)."""
    stat = path.stat()
    return copy.deepcopy(_parse(str(path), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=512)
def _parse(path: str, mtime_ns: int, size: int) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"scenario file {Path(path).name}: {exc}") from None


def scenario_ids(family: str) -> list[str]:
    folder = presets_folder(family)
    return sorted(p.stem for p in folder.glob("*.toml") if not p.stem.startswith("_"))


def load_scenario(family: str, scenario_id: str) -> Scenario:
    folder = presets_folder(family)
    path = folder / f"{scenario_id}.toml"
    if not path.is_file():
        raise UnknownNameError(f"scenario of '{family}'", scenario_id, scenario_ids(family))
    defaults = _read(folder / "_defaults.toml") if (folder / "_defaults.toml").is_file() else {}
    data = _read(path)
    params = merge(defaults.get("params", {}), data.get("params", {}))
    sweep = data.get("sweep", {})
    points = tuple(
        SweepPoint(str(p["label"]), {k: v for k, v in p.items() if k != "label"}) for p in sweep.get("points", [])
    )
    return Scenario(family, scenario_id, data.get("description", ""), params, sweep.get("name"), points)
