"""Python API: make instances, run methods, evaluate. Heavy libraries load only when a method runs."""
from __future__ import annotations

import time

from optkit import registry
from optkit.errors import InputError
from optkit.evaluation import Evaluation
from optkit.instance import Instance, read_instance_family
from optkit.scenarios import load_scenario
from optkit.solution import Solution


def scenario_params(family: str, scenario: str, point: str | None = None) -> tuple[dict, str]:
    """Merged parameters of a preset (one sweep point of a sweep preset) and the label used in tables."""
    spec = registry.get_family(family)
    sc = load_scenario(spec.id, scenario)
    points = sc.expand()
    if not sc.points:
        if point not in (None, ""):
            raise InputError(f"--point: scenario '{scenario}' is not a sweep")
        return points[0].params, ""
    labels = [p.label for p in points]
    if point is None:
        raise InputError(f"--point: scenario '{scenario}' is a sweep over {sc.sweep_name}; choose one of {', '.join(labels)}")
    if point not in labels:
        raise InputError(f"--point: '{point}' is not a point of '{scenario}' (points: {', '.join(labels)})")
    return points[labels.index(point)].params, point


def make_instance(family: str, scenario: str | None = None, seed: int = 0, *, point: str | None = None,
                  overrides: dict | None = None) -> Instance:
    """Generate an instance of a family from a preset (default: the family's default preset) and a seed."""
    from optkit.scenarios import merge

    spec = registry.get_family(family)
    scenario = scenario or spec.default_scenario
    params, label = scenario_params(spec.id, scenario, point)
    if overrides:
        params = merge(params, overrides)
    preset = scenario if not label else f"{scenario}:{label}"
    return spec.hooks.generate(params, seed, preset)


def load_instance(path, family: str | None = None) -> Instance:
    """Read an instance JSON file; with `family`, the file must belong to it."""
    stored = read_instance_family(path)
    if family is not None and registry.get_family(family).id != stored:
        raise InputError(f"--instance: the file holds a '{stored}' instance, not '{registry.get_family(family).id}'")
    return registry.family_api(stored).instance_class.load(path)


def method_options(spec: registry.MethodSpec, options: dict) -> dict:
    """The given options (None values left out) checked against the method's declared options; an option the
    method does not declare, or a value outside its type, range or choices, is an input error."""
    return spec.bind(options)


def solve(instance: Instance, method: str | None = None, *, seed: int = 0, time_limit: float | None = None,
          **options) -> Solution:
    """Run a registered method (default: the family's exact reference) on an instance."""
    family = registry.get_family(instance.family)
    spec = registry.get_method(family.id, method or family.reference_method)
    kwargs = method_options(spec, {"time_limit": time_limit, **options})
    start = time.perf_counter()
    solution = spec.load()(instance, seed=seed, **kwargs)
    solution.info.setdefault("wall_s", time.perf_counter() - start)
    return solution


def evaluate(instance: Instance, solution: Solution, reference: Solution | None = None) -> Evaluation:
    """Score a solution with the family's evaluator; with a reference solution, fill the fraction-of-optimum metrics."""
    api = registry.family_api(instance.family)
    evaluation = api.evaluate(instance, solution)
    if reference is not None:
        api.with_reference(evaluation, api.evaluate(instance, reference))
    return evaluation
