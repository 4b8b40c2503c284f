"""Contract suites over everything registered, in the spirit of scikit-learn's estimator checks.

Every check is a function that raises AssertionError with a message naming the broken contract. The suites are
lists of named checks: `family_checks()` for a family, `method_checks()` for a method, so that a test runner can
make each (family or method, check) its own item. `check_family(name)` and `check_method(family, name)` run every
check, collect all failures into one AssertionError, and return the names of the checks that passed.

Exceptions are declared, never special-cased here: a FamilyAPI or MethodSpec lists the checks it is known to
fail in `expected_failures` (check name -> reason). Such a check still runs; its failure is expected, and its
passing is reported so that the entry can be removed.
"""
from __future__ import annotations

import inspect
import json
import math
import re
from dataclasses import dataclass
from typing import Callable

from optkit import registry
from optkit.evaluation import MetricSpec
from optkit.family import OPTIONAL_HOOKS, REQUIRED_HOOKS, FamilyAPI, load_object
from optkit.instance import Instance
from optkit.scenarios import load_scenario, scenario_ids
from optkit.solution import Solution, Status

GAP_TOLERANCE = 1e-4
DIRECTIONS = ("higher", "lower", "none")
RUNNER_COLUMNS = ("decision_s", "train_s", "wall_s", "frac_bound")   # report columns the runner adds to a row
TRAIN_OWN = ("family", "scenario", "point", "seed", "budget", "out", "progress")   # `optkit train`'s own arguments
_GYM_ID = re.compile(r"^[A-Za-z0-9_]+/[A-Za-z0-9_]+-v[0-9]+$")


@dataclass(frozen=True)
class Check:
    """One named contract check; `run()` raises AssertionError when the contract is broken."""

    name: str
    run: Callable[[], None]


# ----------------------------------------------------------------------------------------------- families

def _hook(fam: FamilyAPI, name: str):
    hooks = fam.hooks
    assert hasattr(hooks, name) and (getattr(hooks, name) is not None or name in OPTIONAL_HOOKS), \
        f"{fam.id}: family API lacks '{name}'"
    return getattr(hooks, name)


def _check_declaration(fam: FamilyAPI) -> None:
    assert isinstance(fam, FamilyAPI), f"{fam}: a family is declared as a FamilyAPI"
    registry._check_id("family", fam.id)
    assert fam.title.strip(), f"{fam.id}: empty title"
    for alias in fam.aliases:
        assert registry.get_family(alias).id == fam.id, f"{fam.id}: alias '{alias}' resolves to another family"
    assert isinstance(fam.reference_bound_is_dual, bool), f"{fam.id}: reference_bound_is_dual must be a bool"
    assert isinstance(fam.exact_time_limit, (int, float)) and 0 < fam.exact_time_limit < math.inf, \
        f"{fam.id}: exact_time_limit must be a positive number of seconds"
    for name in (*REQUIRED_HOOKS, *OPTIONAL_HOOKS):
        value = getattr(fam, name)
        assert value is None and name in OPTIONAL_HOOKS or isinstance(value, str) and value.count(":") == 1, \
            f"{fam.id}: hook '{name}' must read 'module:attribute'"
    unknown = set(fam.expected_failures) - {c.name for c in family_checks(fam.id)}
    assert not unknown, f"{fam.id}: expected_failures names unknown checks {sorted(unknown)}"


def _check_hooks(fam: FamilyAPI) -> None:
    for name in REQUIRED_HOOKS:
        _hook(fam, name)
    cls = _hook(fam, "instance_class")
    assert isinstance(cls, type) and issubclass(cls, Instance), f"{fam.id}: instance_class is not an Instance class"
    assert cls.family == fam.id, f"{fam.id}: instance_class.family is '{cls.family}'"
    for name in ("generate", "evaluate", "with_reference", "decisions_to_jsonable", "decisions_from_jsonable",
                 *OPTIONAL_HOOKS):
        value = _hook(fam, name)
        assert value is None or callable(value), f"{fam.id}: hook '{name}' is not callable"


def _check_metrics(fam: FamilyAPI) -> None:
    metrics = _hook(fam, "metrics")
    assert isinstance(metrics, (tuple, list)) and all(isinstance(m, MetricSpec) for m in metrics), \
        f"{fam.id}: metrics must be a sequence of MetricSpec"
    ids = [m.id for m in metrics]
    assert len(ids) == len(set(ids)), f"{fam.id}: duplicate metric ids"
    assert all(m.better in DIRECTIONS for m in metrics), f"{fam.id}: metric direction"
    assert "objective" in ids, f"{fam.id}: the metrics lack 'objective'"
    assert fam.primary() in ids, f"{fam.id}: primary metric '{fam.primary()}' is not a metric"


def _check_report_settings(fam: FamilyAPI) -> None:
    known = {m.id for m in _hook(fam, "metrics")} | set(RUNNER_COLUMNS)
    settings = fam.report
    named = [*settings.metrics, *settings.sweep_panels, *settings.radar_axes, *settings.heat_metrics,
             settings.runtime_metric, *settings.labels]
    unknown = sorted(set(named) - known)
    assert not unknown, f"{fam.id}: report settings name unknown metrics {unknown}"


def _check_presets(fam: FamilyAPI) -> None:
    folder = fam.presets_folder()
    assert folder.is_dir(), f"{fam.id}: presets folder '{folder}' does not exist"
    scenarios = scenario_ids(fam.id)
    for required in (fam.default_scenario, fam.test_scenario, "paper-default"):
        assert required in scenarios, f"{fam.id}: preset '{required}' missing"
    reference = next((m for m in registry.methods(fam.id) if m.id == fam.reference_method), None)
    assert reference is not None, f"{fam.id}: reference method '{fam.reference_method}' is not registered"
    assert reference.kind == "exact", f"{fam.id}: reference method '{fam.reference_method}' is not exact"


def _check_every_preset_generates(fam: FamilyAPI) -> None:
    for sid in scenario_ids(fam.id):
        for point in load_scenario(fam.id, sid).expand():
            inst = fam.hooks.generate(point.params, 0, sid)
            inst.validate()


def _check_deterministic_generator(fam: FamilyAPI, seeds=(0, 1)) -> None:
    params = load_scenario(fam.id, fam.test_scenario).params
    for seed in seeds:
        a = fam.hooks.generate(params, seed, fam.test_scenario)
        b = fam.hooks.generate(params, seed, fam.test_scenario)
        assert a.to_json() == b.to_json(), f"{fam.id}: generator is not deterministic under seed {seed}"
        back = fam.hooks.instance_class.from_json(a.to_json())
        assert back.to_json() == a.to_json(), f"{fam.id}: JSON round trip is not exact"


def _check_gym_envs(fam: FamilyAPI) -> None:
    if not fam.gym_envs:
        return
    import gymnasium

    for env_id, entry in fam.gym_envs.items():
        assert _GYM_ID.match(env_id), f"{fam.id}: Gymnasium id '{env_id}' must read 'namespace/Name-vN'"
        env_class = load_object(entry)
        assert isinstance(env_class, type) and issubclass(env_class, gymnasium.Env), \
            f"{fam.id}: '{entry}' is not a gymnasium.Env class"


FAMILY_CHECKS = (
    ("declaration", _check_declaration),
    ("api", _check_hooks),
    ("metrics", _check_metrics),
    ("report settings", _check_report_settings),
    ("presets", _check_presets),
    ("every preset generates", _check_every_preset_generates),
    ("deterministic generator, exact JSON round trip", _check_deterministic_generator),
    ("gym envs", _check_gym_envs),
)


def family_checks(name: str) -> list[Check]:
    """The family contract as named checks."""
    fam = registry.get_family(name)
    return [Check(check_name, lambda f=func: f(fam)) for check_name, func in FAMILY_CHECKS]


# ----------------------------------------------------------------------------------------------- methods

class MethodRun:
    """One method on the family's test preset, run lazily and at most twice (the determinism check needs a second
    run); every method check reads the same runs. Learners train at `budget` (default `check`, a few episodes:
    contracts, not learning); their checkpoint is cached, so the second run reuses it."""

    def __init__(self, family: str, name: str, seed: int = 0, time_limit: float = 60.0, budget: str = "check"):
        self.family = registry.get_family(family)
        self.spec = registry.get_method(self.family.id, name)
        self.seed, self.time_limit, self.budget = seed, time_limit, budget
        self._instance = self._before = None
        self._runs: list = []

    @property
    def instance(self):
        if self._instance is None:
            from optkit.api import make_instance

            self._instance = make_instance(self.family.id, self.family.test_scenario, self.seed)
            self._before = self._instance.to_json()
        return self._instance

    @property
    def instance_json_before(self) -> str:
        self.instance
        return self._before

    def options(self) -> dict:
        return self.spec.bind({"time_limit": self.time_limit,
                               "budget": self.budget if self.spec.takes("budget") else None})

    def run(self, index: int):
        """The index-th run's result (0 or 1), each with method seed 0."""
        while len(self._runs) <= index:
            self._runs.append(self.spec.load()(self.instance, seed=0, **self.options()))
        return self._runs[index]

    def solution(self, index: int = 0) -> Solution:
        result = self.run(index)
        assert isinstance(result, Solution), f"{self.spec.id}: solve must return a Solution"
        return result


def _parameters(func) -> dict:
    return {name: p for name, p in inspect.signature(func).parameters.items()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}


def _check_options_declared(run: MethodRun) -> None:
    spec = run.spec
    for option in spec.all_options():
        assert option.default is None and option.nullable or option.type == "any" or \
            option.check(option.default) == option.default, \
            f"{spec.id}: option '{option.name}' has a default outside its own rule"
    stages = [("solve", spec.load(), ("inst", "instance", "seed"))]
    if spec.kind == "learner":
        stages.append(("train", spec.load_train(), TRAIN_OWN))
    elif spec.train is not None:
        raise AssertionError(f"{spec.id}: only learners name a train entry")
    for stage, func, own in stages:
        params = {n: p for n, p in _parameters(func).items() if n not in own}
        declared = {o.name: o for o in spec.all_options() if o.stage in (stage, "both")}
        if stage == "train":
            declared.pop("budget", None)
        undeclared = sorted(set(params) - set(declared))
        missing = sorted(set(declared) - set(params))
        assert not undeclared, f"{spec.id}: {stage} entry takes undeclared options {undeclared}"
        assert not missing, f"{spec.id}: declared options {missing} are not parameters of the {stage} entry"
        for name, option in declared.items():
            assert params[name].default == option.default, \
                f"{spec.id}: option '{name}' declares default {option.default!r}, the {stage} entry has " \
                f"{params[name].default!r}"


def _check_returns_a_solution(run: MethodRun) -> None:
    first = run.solution(0)
    fam, spec = run.family, run.spec
    assert first.family == fam.id and first.method == spec.id, f"{spec.id}: Solution names the wrong family/method"
    assert isinstance(first.status, Status), f"{spec.id}: status must be a Status"
    assert first.runtime_s >= 0, f"{spec.id}: negative runtime"


def _check_does_not_mutate(run: MethodRun) -> None:
    run.solution(0)
    assert run.instance.to_json() == run.instance_json_before, f"{run.spec.id}: the instance was mutated"


def _finite_or_nan(x) -> bool:
    return isinstance(x, float) and (math.isfinite(x) or math.isnan(x))


def _check_evaluator_accepts(run: MethodRun) -> None:
    hooks = run.family.hooks
    evaluation = hooks.evaluate(run.instance, run.solution(0))
    assert {m.id for m in hooks.metrics} <= set(evaluation.metrics), f"{run.spec.id}: evaluator metrics incomplete"
    assert all(_finite_or_nan(float(v)) for v in evaluation.metrics.values()), f"{run.spec.id}: non-finite metric"


def _check_decisions_round_trip(run: MethodRun) -> None:
    hooks = run.family.hooks
    codec = hooks.decisions_to_jsonable(run.solution(0).decisions)
    back = hooks.decisions_from_jsonable(json.loads(json.dumps(codec)))
    assert hooks.decisions_to_jsonable(back) == codec, f"{run.spec.id}: decisions JSON round trip is not exact"


def _check_deterministic(run: MethodRun) -> None:
    first = run.solution(0)
    if first.status == Status.TIME_LIMIT:      # a time-limited search may stop anywhere
        return
    hooks = run.family.hooks
    assert hooks.decisions_to_jsonable(run.solution(1).decisions) == hooks.decisions_to_jsonable(first.decisions), \
        f"{run.spec.id}: decisions differ between two runs under the same seed"


def _check_honest_status(run: MethodRun) -> None:
    first, spec = run.solution(0), run.spec
    if first.status == Status.OPTIMAL:
        assert first.objective is not None and first.bound is not None, f"{spec.id}: optimal without objective/bound"
        assert first.gap is not None and first.gap <= GAP_TOLERANCE + 1e-12 or \
            abs(first.bound - first.objective) <= GAP_TOLERANCE * max(1.0, abs(first.objective)), \
            f"{spec.id}: status optimal with gap {first.gap}"
    if first.objective is not None and first.bound is not None:
        assert first.bound >= first.objective - 1e-6 * max(1.0, abs(first.objective)), \
            f"{spec.id}: bound below the incumbent of a maximisation"
    if spec.kind != "exact":
        assert first.status in (Status.FEASIBLE, Status.ERROR, Status.TIME_LIMIT), \
            f"{spec.id}: a {spec.kind} cannot prove optimality"
    if spec.knowledge == "oracle" and first.status == Status.OPTIMAL and first.objective is not None:
        evaluation = run.family.hooks.evaluate(run.instance, first)
        assert evaluation.metrics["objective"] >= first.objective - 1e-4 * max(1.0, abs(first.objective)), \
            f"{spec.id}: evaluator objective below the proven optimum"


METHOD_CHECKS = (
    ("options declared", _check_options_declared),
    ("returns a Solution", _check_returns_a_solution),
    ("does not mutate the instance", _check_does_not_mutate),
    ("evaluator accepts the decisions", _check_evaluator_accepts),
    ("decisions round trip", _check_decisions_round_trip),
    ("deterministic under a fixed seed", _check_deterministic),
    ("honest status", _check_honest_status),
)


def slug(check_name: str) -> str:
    """A check name as a test id: 'deterministic under a fixed seed' -> 'deterministic-under-a-fixed-seed'."""
    return re.sub(r"[^a-z0-9]+", "-", check_name.lower()).strip("-")


def method_checks(run: MethodRun) -> list[Check]:
    """The method contract as named checks over one MethodRun."""
    return [Check(name, lambda f=func: f(run)) for name, func in METHOD_CHECKS]


# ----------------------------------------------------------------------------------------------- whole suites

def run_checks(owner: str, checks: list[Check], expected_failures) -> list[str]:
    """Run every check; raise one AssertionError listing each unexpected failure (and each expected failure that
    passed); return the names of the checks that passed."""
    passed, problems = [], []
    for check in checks:
        try:
            check.run()
        except AssertionError as exc:
            if check.name not in expected_failures:
                problems.append(f"[{check.name}] {exc}")
            continue
        if check.name in expected_failures:
            problems.append(f"[{check.name}] passes, but {owner} lists it as an expected failure "
                            f"({expected_failures[check.name]})")
        passed.append(check.name)
    if problems:
        raise AssertionError("; ".join(problems))
    return passed


def check_family(name: str) -> list[str]:
    fam = registry.get_family(name)
    return run_checks(fam.id, family_checks(fam.id), fam.expected_failures)


def check_method(family: str, name: str, seed: int = 0, time_limit: float = 60.0, budget: str = "check") -> list[str]:
    """Every contract of one method on the family's test preset (see MethodRun)."""
    run = MethodRun(family, name, seed, time_limit, budget)
    return run_checks(run.spec.id, method_checks(run), run.spec.expected_failures)
