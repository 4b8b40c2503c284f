"""Named experiments: `_experiments.toml` in each family's presets folder, one table per experiment id.

An experiment fixes the scenarios, methods, method configurations, evaluation seeds, method seeds and time
limit of a benchmark run; `[<id>.budget.<name>]` overrides any of them for one budget (a CI-sized `quick`
usually runs fewer seeds on smaller presets than `paper`).
"""
from __future__ import annotations

from dataclasses import dataclass

from optkit import registry
from optkit.budgets import BUDGETS
from optkit.errors import InputError, UnknownNameError
from optkit.scenarios import _read, merge

FILE = "_experiments.toml"
FIELDS = {"description", "reproduces", "scenarios", "points", "methods", "configs", "seeds", "method_seeds",
          "time_limit", "figures", "budget"}


@dataclass(frozen=True)
class Experiment:
    id: str
    family: str
    description: str
    reproduces: str
    scenarios: tuple[str, ...]
    points: dict | tuple | None       # sweep point labels to run: one list, or {scenario: labels}; None: all
    methods: str                      # "all" or comma-separated ids
    configs: tuple[dict, ...]         # each {"label": ..., option: value}; () = the method defaults
    seeds: str                        # seed range text, e.g. "0-9"
    method_seeds: str
    time_limit: float | None
    figures: tuple[str, ...]


def _tables() -> dict[str, tuple[str, dict]]:
    """experiment id -> (family id, raw table) over every registered family."""
    found = {}
    for fam in registry.families():
        path = fam.presets_folder() / FILE
        if path.is_file():
            for exp_id, table in _read(path).items():
                found[exp_id] = (fam.id, table)
    return found


def experiment_ids() -> list[str]:
    return sorted(_tables())


def load_experiment(exp_id: str, budget: str) -> Experiment:
    """The experiment with the overrides of `budget` applied."""
    tables = _tables()
    if exp_id not in tables:
        raise UnknownNameError("experiment", exp_id, tables)
    family, table = tables[exp_id]
    budgets = table.get("budget", {})
    unknown = set(table) - FIELDS | {f"budget.{b}.{k}" for b, t in budgets.items() for k in t if k not in FIELDS}
    unknown |= {f"budget.{b}" for b in budgets if b not in BUDGETS}
    if unknown:
        raise InputError(f"experiment '{exp_id}': unknown field(s) {', '.join(sorted(unknown))}")
    data = merge({k: v for k, v in table.items() if k != "budget"}, table.get("budget", {}).get(budget, {}))
    configs = tuple(data.get("configs", ()))
    if any("label" not in c for c in configs):
        raise InputError(f"experiment '{exp_id}': every entry of configs needs a label")
    return Experiment(
        id=exp_id, family=family, description=data.get("description", ""), reproduces=data.get("reproduces", ""),
        scenarios=tuple(data["scenarios"]), points=data.get("points"), methods=",".join(data["methods"]) if isinstance(data.get("methods"), list)
        else str(data.get("methods", "all")), configs=configs, seeds=str(data.get("seeds", "0-9")),
        method_seeds=str(data.get("method_seeds", "0")), time_limit=data.get("time_limit"),
        figures=tuple(data.get("figures", ())),
    )
