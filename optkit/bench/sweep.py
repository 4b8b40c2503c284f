"""The sweep model: what a benchmark run covers, validated up front, and the cells it expands to."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from optkit import registry
from optkit.budgets import BUDGETS
from optkit.errors import InputError
from optkit.scenarios import load_scenario

ID_COLUMNS = ["family", "scenario", "point", "seed", "method", "config", "method_seed"]


def parse_seeds(text: str, flag: str = "--seeds") -> list[int]:
    """'0-9', '0,3,5' or '0-4,10' -> sorted distinct non-negative ints."""
    seeds = set()
    for part in str(text).split(","):
        part = part.strip()
        lo, dash, hi = part.partition("-")
        try:
            a, b = (int(lo), int(hi)) if dash else (int(part), int(part))
        except ValueError:
            raise InputError(f"{flag}: '{text}' is not a seed list (use forms like 0-9, 0,3,5 or 0-4,10)") from None
        if a < 0 or b < a:
            raise InputError(f"{flag}: range '{part}' must satisfy 0 <= start <= end")
        seeds.update(range(a, b + 1))
    return sorted(seeds)


@dataclass(frozen=True)
class Cell:
    """One unit of work: (family, scenario, sweep point, instance seed, method, configuration, method seed)."""

    family: str
    scenario: str
    point: str
    seed: int
    method: str
    config: str          # configuration label ('' = the method's defaults)
    method_seed: int

    @property
    def key(self) -> str:
        return "|".join(str(getattr(self, c)) for c in ID_COLUMNS)


@dataclass
class Sweep:
    """What a run covers; two runs into one directory must have the same Sweep."""

    family: str
    scenarios: list[str]
    methods: list[str]
    configs: list[dict]
    seeds: list[int]
    method_seeds: list[int]
    budget: str
    time_limit: float | None
    experiment: str | None = None
    points: dict = field(default_factory=dict)     # scenario -> [(label, sweep name)]
    configured: list = field(default_factory=list) # methods that run every config (others run their defaults)

    def identity(self) -> dict:
        return asdict(self)

    def cells(self) -> list[Cell]:
        labels = [c["label"] for c in self.configs]
        options = {c["label"]: c for c in self.configs}

        def seeds_of(method: str, label: str) -> list[int]:
            spec = registry.get_method(self.family, method)
            seeded = spec.seeded or any(options.get(label, {}).get(o) for o in spec.seeded_options)
            return self.method_seeds if seeded else self.method_seeds[:1]

        return [Cell(self.family, sc, label, seed, m, cfg, ms)
                for sc in self.scenarios for label, _ in self.points[sc] for seed in self.seeds
                for m in self.methods for cfg in (labels if m in self.configured else [""])
                for ms in seeds_of(m, cfg)]


def make_sweep(family: str, scenarios, methods: str = "all", seeds="0-9", *, method_seeds="0", configs=(),
               budget: str = "quick", time_limit: float | None = None, experiment: str | None = None,
               points=None) -> Sweep:
    """Validate every name and option up front (nothing runs on bad input). `points`: labels of the sweep
    points to run, one list for every scenario or {scenario: labels} (default every point)."""
    fam = registry.get_family(family)
    if budget not in BUDGETS:
        raise InputError(f"--budget: '{budget}' is not one of {', '.join(BUDGETS)}")
    if time_limit is not None and not (isinstance(time_limit, (int, float)) and 0 < time_limit < math.inf):
        raise InputError("--time-limit: must be a positive number of seconds")
    specs = registry.parse_method_list(fam.id, methods)
    scenarios = list(scenarios)
    if not scenarios:
        raise InputError("--scenario: give at least one preset id")
    repeated = sorted({sc for sc in scenarios if scenarios.count(sc) > 1})
    if repeated:
        raise InputError(f"--scenario: {', '.join(repeated)} listed more than once")
    points_of = {}
    known_labels = set()
    seed_list = parse_seeds(seeds)
    for sc in scenarios:
        scenario = load_scenario(fam.id, sc)
        offset = scenario.params.get("train_seed_offset")
        if offset is not None and any(s.kind == "learner" for s in specs) and seed_list[-1] >= offset:
            raise InputError(f"--seeds: seeds from {offset} on are the learners' training seeds of '{sc}' "
                             "(evaluation seeds must be disjoint from them)")
        labels = [p.label for p in scenario.expand()]
        known_labels.update(labels if scenario.points else [])
        wanted = points.get(sc) if isinstance(points, dict) else points
        chosen = [label for label in labels if wanted is None or not scenario.points or label in wanted]
        if not chosen:
            raise InputError(f"points: none of {', '.join(wanted)} is a point of '{sc}' (points: {', '.join(labels)})")
        points_of[sc] = [[label, scenario.sweep_name or ""] for label in chosen]
    requested = set(points) if isinstance(points, (list, tuple)) else \
        {label for labels in (points or {}).values() for label in labels}
    unknown = sorted(requested - known_labels)
    if unknown:
        raise InputError(f"points: {', '.join(unknown)} is not a sweep point of {', '.join(scenarios)}")
    configs = [dict(c) for c in configs]
    runner_owned = sorted({k for c in configs for k in c} & {"time_limit", "budget", "threads", "seed"})
    if runner_owned:
        raise InputError(f"configs: {', '.join(runner_owned)} is set by the runner, not by a configuration")
    labels = [c.get("label", "") for c in configs]
    if len(set(labels)) != len(labels) or "" in labels:
        raise InputError("configs: every configuration needs a distinct non-empty label")
    # A configuration applies to the methods that take all its options; the others (the reference among them)
    # run once with their defaults. An option no method takes is a typo.
    keys = {k for c in configs for k in c if k != "label"}
    configured = [spec.id for spec in specs if keys and all(spec.takes(k) for k in keys)]
    if configs and not configured:
        raise InputError(f"configs: no method of {', '.join(s.id for s in specs)} takes all of "
                         f"{', '.join(sorted(keys))}")
    return Sweep(fam.id, list(scenarios), [s.id for s in specs], configs, seed_list,
                 parse_seeds(method_seeds, "--method-seeds"), budget, time_limit, experiment, points_of, configured)
