"""Contract suites run over everything registered (in the spirit of scikit-learn's check_estimator).

`check_family(name)` and `check_method(family, name)` raise AssertionError with a message naming the
broken contract, and return the list of checks that passed.
"""
from __future__ import annotations

import json
import math

from optkit import registry
from optkit.scenarios import load_scenario, scenario_ids
from optkit.solution import Solution, Status

GAP_TOLERANCE = 1e-4


def check_family(name: str, seeds=(0, 1)) -> list[str]:
    spec = registry.get_family(name)
    api = registry.family_api(spec.id)
    passed = []
    for attr in ("INSTANCE_CLASS", "generate", "evaluate", "with_reference", "METRICS",
                 "decisions_to_jsonable", "decisions_from_jsonable"):
        assert hasattr(api, attr), f"{spec.id}: family API lacks '{attr}'"
    passed.append("api")
    ids = [m.id for m in api.METRICS]
    assert len(ids) == len(set(ids)), f"{spec.id}: duplicate metric ids"
    assert all(m.better in ("higher", "lower", "none") for m in api.METRICS), f"{spec.id}: metric direction"
    passed.append("metrics")
    scenarios = scenario_ids(spec.id)
    for required in (spec.default_scenario, spec.test_scenario, "paper-default"):
        assert required in scenarios, f"{spec.id}: preset '{required}' missing"
    assert (spec.id, spec.reference_method) in {(m.family, m.id) for m in registry.methods(spec.id)}, \
        f"{spec.id}: reference method '{spec.reference_method}' is not registered"
    passed.append("presets")
    for sid in scenarios:
        for point in load_scenario(spec.id, sid).expand():
            inst = api.generate(point.params, 0, sid)
            inst.validate()
    passed.append("every preset generates")
    for seed in seeds:
        a = api.generate(load_scenario(spec.id, spec.test_scenario).params, seed, spec.test_scenario)
        b = api.generate(load_scenario(spec.id, spec.test_scenario).params, seed, spec.test_scenario)
        assert a.to_json() == b.to_json(), f"{spec.id}: generator is not deterministic under seed {seed}"
        back = api.INSTANCE_CLASS.from_json(a.to_json())
        assert back.to_json() == a.to_json(), f"{spec.id}: JSON round trip is not exact"
    passed.append("deterministic generator, exact JSON round trip")
    return passed


def _finite_or_nan(x) -> bool:
    return isinstance(x, float) and (math.isfinite(x) or math.isnan(x))


def check_method(family: str, name: str, seed: int = 0, time_limit: float = 60.0, budget: str = "check") -> list[str]:
    """Contracts of one method on the family's test preset. Learners train at `budget` (default `check`, a few episodes: contracts, not learning);
    their checkpoint is cached, so the second (determinism) run reuses it."""
    fam = registry.get_family(family)
    spec = registry.get_method(fam.id, name)
    api = registry.family_api(fam.id)
    from optkit.api import make_instance, method_options

    inst = make_instance(fam.id, fam.test_scenario, seed)
    before = inst.to_json()
    options = method_options(spec, {"time_limit": time_limit, "budget": budget if spec.kind == "learner" else None})
    run = spec.load()
    first = run(inst, seed=0, **options)
    passed = []
    assert isinstance(first, Solution), f"{spec.id}: solve must return a Solution"
    assert first.family == fam.id and first.method == spec.id, f"{spec.id}: Solution names the wrong family/method"
    assert isinstance(first.status, Status), f"{spec.id}: status must be a Status"
    assert first.runtime_s >= 0, f"{spec.id}: negative runtime"
    passed.append("returns a Solution")
    assert inst.to_json() == before, f"{spec.id}: the instance was mutated"
    passed.append("does not mutate the instance")
    evaluation = api.evaluate(inst, first)
    assert {m.id for m in api.METRICS} <= set(evaluation.metrics), f"{spec.id}: evaluator metrics incomplete"
    assert all(_finite_or_nan(float(v)) for v in evaluation.metrics.values()), f"{spec.id}: non-finite metric"
    passed.append("evaluator accepts the decisions")
    codec = api.decisions_to_jsonable(first.decisions)
    back = api.decisions_from_jsonable(json.loads(json.dumps(codec)))
    assert api.decisions_to_jsonable(back) == codec, f"{spec.id}: decisions JSON round trip is not exact"
    passed.append("decisions round trip")
    second = run(inst, seed=0, **options)
    if first.status != Status.TIME_LIMIT:   # a time-limited search may stop anywhere
        assert api.decisions_to_jsonable(second.decisions) == codec, \
            f"{spec.id}: decisions differ between two runs under the same seed"
    passed.append("deterministic under a fixed seed")
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
        assert evaluation.metrics["objective"] >= first.objective - 1e-4 * max(1.0, abs(first.objective)), \
            f"{spec.id}: evaluator objective below the proven optimum"
    passed.append("honest status")
    return passed
