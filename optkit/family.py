"""The family contract: `FamilyAPI`, one frozen declaration of everything the core uses from a problem family.

A family package declares one instance as `FAMILY` in its formulations package (a light module: hooks are
"module:attribute" texts imported on first use, so `optkit list` and `optkit --help` stay fast). The runner, the
report, the CLI and the contract suite read these fields and nothing else; `optkit.checks` checks every field.
docs/guides/add-a-family.md walks through a declaration.
"""
from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType, SimpleNamespace


def load_object(reference: str):
    """The object that "package.module:attribute" names (imports the module)."""
    module_name, sep, attr = reference.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"'{reference}' must read 'module:attribute'")
    return getattr(importlib.import_module(module_name), attr)


@dataclass(frozen=True)
class ReportSettings:
    """What `optkit report` shows for a family; every metric id is one of the family's metrics or a runner column
    (decision_s, train_s, wall_s, frac_bound). An empty setting takes the default named beside it."""

    metrics: tuple[str, ...] = ()        # results-table columns; () = the primary metric + 7 more ranked metrics
    sweep_panels: tuple[str, ...] = ()   # panels against the swept quantity; () = the first 3 report metrics
    radar_axes: tuple[str, ...] = ()     # radar axes ("lower" metrics drawn inverted); () = the sweep panels
    heat_metrics: tuple[str, ...] = ()   # methods x sweep-point heat maps; () = the primary metric
    runtime_metric: str = "decision_s"   # the runtime figure's metric
    labels: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))        # metric -> readable name
    sweep_labels: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))  # swept quantity -> label

    def __post_init__(self):
        for name in ("labels", "sweep_labels"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))


# Hook fields: "module:attribute" texts, resolved together by FamilyAPI.hooks.
REQUIRED_HOOKS = ("instance_class", "generate", "evaluate", "with_reference", "metrics",
                  "decisions_to_jsonable", "decisions_from_jsonable")
OPTIONAL_HOOKS = ("describe", "cell_record", "report_extras")


def hooks_in(module: str, *, instance_class: str, metrics: str = "METRICS", optional: tuple[str, ...] = ()) -> dict:
    """Hook fields for a family whose hooks all live in one module under their field names (the instance class and
    the metrics under the names given): the required hooks plus the `optional` ones, as FamilyAPI keywords."""
    names = {**{hook: hook for hook in (*REQUIRED_HOOKS, *optional)}, "instance_class": instance_class,
             "metrics": metrics}
    return {hook: f"{module}:{attr}" for hook, attr in names.items()}


@dataclass(frozen=True)
class FamilyAPI:
    """A problem family as the core sees it.

    Required:
      id, title; reference_method (its exact or offline reference, the default `--method` of `optkit solve`);
      default_scenario, test_scenario (a small preset for the contract suite); presets ("package:folder", the
      folder of `<preset>.toml`, `_defaults.toml`, `_experiments.toml` and `_learners.toml`);
      hooks (each "module:attribute"):
        instance_class           Instance subclass (JSON round trip, validate)
        generate                 generate(params: dict, seed: int, preset: str) -> Instance
        evaluate                 evaluate(instance, solution) -> Evaluation (the only place metrics are computed)
        with_reference           with_reference(evaluation, reference_evaluation) -> None: fills frac_* metrics
        metrics                  a sequence of MetricSpec: every metric id with unit and direction
        decisions_to_jsonable    decisions -> JSON-able dict;  decisions_from_jsonable: the inverse
    Optional (default in brackets):
      aliases                    formulation names accepted by --formulation [()]
      primary_metric             the metric reports rank by [the first metric with a direction]
      reference_bound_is_dual    True when the reference's bound bounds every method, so frac_bound = objective
                                 / bound is filled; False when it bounds a restricted problem only [True]
      exact_time_limit           `optkit solve`'s time limit for the family's exact methods, s [600]
      gym_envs                   Gymnasium id -> "module:EnvClass", registered by `import optkit.envs` [{}]
      report                     ReportSettings [defaults drawn from the metrics]
      describe                   describe(instance) -> dict of size figures [none]
      cell_record                cell_record(instance, solution, evaluation) -> JSON-able dict kept per bench cell
                                 for the family's report figures [none]
      report_extras              report_extras(results, figures, names) -> markdown lines: the family's own figures
                                 and tables in `optkit report` (results: optkit.report.Results; figures:
                                 optkit.report.Figures; names: the experiment's figure names or None) [none]
      expected_failures          family contract checks (optkit.checks) known to fail -> the reason [{}]
    """

    id: str
    title: str
    reference_method: str
    default_scenario: str
    test_scenario: str
    presets: str
    instance_class: str
    generate: str
    evaluate: str
    with_reference: str
    metrics: str
    decisions_to_jsonable: str
    decisions_from_jsonable: str
    aliases: tuple[str, ...] = ()
    primary_metric: str | None = None
    reference_bound_is_dual: bool = True
    exact_time_limit: float = 600.0
    gym_envs: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    report: ReportSettings = field(default_factory=ReportSettings)
    describe: str | None = None
    cell_record: str | None = None
    report_extras: str | None = None
    expected_failures: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self):
        object.__setattr__(self, "gym_envs", MappingProxyType(dict(self.gym_envs)))
        object.__setattr__(self, "expected_failures", MappingProxyType(dict(self.expected_failures)))
        object.__setattr__(self, "aliases", tuple(self.aliases))

    @functools.cached_property
    def hooks(self) -> SimpleNamespace:
        """Every hook imported: hooks.generate(...), hooks.metrics, ...; an unset optional hook is None."""
        return SimpleNamespace(**{name: None if getattr(self, name) is None else load_object(getattr(self, name))
                                  for name in (*REQUIRED_HOOKS, *OPTIONAL_HOOKS)})

    def presets_folder(self) -> Path:
        """The folder of the family's data files."""
        package, _, folder = self.presets.partition(":")
        module = importlib.import_module(package)
        return Path(module.__file__).resolve().parent / folder

    def primary(self) -> str | None:
        """The primary metric id (declared, else the first metric with a direction)."""
        if self.primary_metric is not None:
            return self.primary_metric
        ranked = [m.id for m in self.hooks.metrics if m.better in ("higher", "lower")]
        return ranked[0] if ranked else None


FAMILY_FIELDS = tuple(f.name for f in fields(FamilyAPI))
