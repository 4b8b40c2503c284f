"""Contract suites over everything registered, and proof that check_method catches broken methods."""
from __future__ import annotations

import dataclasses
import itertools

import pytest

from optkit import registry
from optkit.checks import (FAMILY_CHECKS, METHOD_CHECKS, MethodRun, check_family, check_method, family_checks,
                           method_checks, slug)
from optkit.solution import Status

FAMILIES = [f.id for f in registry.families()]
METHODS = [(m.family, m.id) for m in registry.methods()]
FAST_METHODS = [fm for fm in METHODS if registry.get_method(*fm).kind != "exact"]
EXACT_METHODS = [fm for fm in METHODS if registry.get_method(*fm).kind == "exact"]
_RUNS: dict = {}            # one MethodRun per method: its checks share the method's two runs


def _family_items():
    for family in FAMILIES:
        expected = registry.get_family(family).expected_failures
        for check in family_checks(family):
            marks = [pytest.mark.xfail(strict=True, reason=expected[check.name])] if check.name in expected else []
            yield pytest.param(family, check.name, marks=marks, id=f"{family}-{slug(check.name)}")


def _method_items():
    for family, method in METHODS:
        spec = registry.get_method(family, method)
        for name, _ in METHOD_CHECKS:
            marks = [pytest.mark.slow] if spec.kind == "exact" else []
            if name in spec.expected_failures:
                marks.append(pytest.mark.xfail(strict=True, reason=spec.expected_failures[name]))
            yield pytest.param(family, method, name, marks=marks, id=f"{family}-{method}-{slug(name)}")


def test_something_is_registered():
    assert "allocate" in FAMILIES
    assert ("allocate", "allocate") in EXACT_METHODS and ("allocate", "random") in FAST_METHODS


@pytest.mark.parametrize("family, check_name", list(_family_items()))
def test_family_contract(family, check_name):
    check = next(c for c in family_checks(family) if c.name == check_name)
    check.run()


@pytest.mark.parametrize("family, method, check_name", list(_method_items()))
def test_method_contract(family, method, check_name):
    kind = registry.get_method(family, method).kind
    if (family, method) not in _RUNS:
        _RUNS[(family, method)] = MethodRun(family, method, time_limit=20 if kind == "exact" else 60.0)
    check = next(c for c in method_checks(_RUNS[(family, method)]) if c.name == check_name)
    check.run()


def test_check_family_runs_every_check():
    assert check_family("allocate") == [name for name, _ in FAMILY_CHECKS]


def test_check_method_runs_every_check():
    assert check_method("allocate", "random") == [name for name, _ in METHOD_CHECKS]


# ---------------------------------------------------------------- broken fakes must be caught


def _random(inst, seed):
    from optkit.heuristics.allocate.random_baseline import solve

    return solve(inst, seed=seed)


def _retag(solution, **changes):
    return dataclasses.replace(solution, **changes)


def wrong_family(inst, *, seed=0, time_limit=None):
    return _retag(_random(inst, seed), family="other-family", method="broken-fake")


def wrong_method_name(inst, *, seed=0, time_limit=None):
    return _retag(_random(inst, seed), method="random")


_calls = itertools.count()


def non_deterministic(inst, *, seed=0, time_limit=None):
    return _retag(_random(inst, seed + next(_calls)), method="broken-fake")


def mutates_instance(inst, *, seed=0, time_limit=None):
    object.__setattr__(inst, "alpha", inst.alpha * 2)
    return _retag(_random(inst, seed), method="broken-fake")


def not_a_solution(inst, *, seed=0, time_limit=None):
    return {"family": "allocate", "method": "broken-fake"}


def status_as_string(inst, *, seed=0, time_limit=None):
    return _retag(_random(inst, seed), method="broken-fake", status="feasible")


def heuristic_claims_optimal(inst, *, seed=0, time_limit=None):
    from optkit.formulations.allocate.api import evaluate

    sol = _retag(_random(inst, seed), method="broken-fake")
    value = evaluate(inst, sol).metrics["objective"]
    return _retag(sol, status=Status.OPTIMAL, objective=value, bound=value, gap=0.0)


def optimal_with_a_gap(inst, *, seed=0, time_limit=None):
    return _retag(_random(inst, seed), method="broken-fake", status=Status.OPTIMAL, objective=1.0, bound=2.0, gap=1.0)


def bound_below_incumbent(inst, *, seed=0, time_limit=None):
    return _retag(_random(inst, seed), method="broken-fake", status=Status.TIME_LIMIT, objective=2.0, bound=1.0,
                  gap=0.5)


def negative_runtime(inst, *, seed=0, time_limit=None):
    return _retag(_random(inst, seed), method="broken-fake", runtime_s=-1.0)


@pytest.mark.parametrize("func, kind, message", [
    (wrong_family, "heuristic", "wrong family"),
    (wrong_method_name, "heuristic", "wrong family/method"),
    (non_deterministic, "heuristic", "differ between two runs"),
    (mutates_instance, "heuristic", "mutated"),
    (not_a_solution, "heuristic", "must return a Solution"),
    (status_as_string, "heuristic", "must be a Status"),
    (heuristic_claims_optimal, "heuristic", "cannot prove optimality"),
    (optimal_with_a_gap, "exact", "optimal with gap"),
    (bound_below_incumbent, "exact", "bound below the incumbent"),
    (negative_runtime, "heuristic", "negative runtime"),
])
def test_check_method_catches_broken_methods(register_fake_method, func, kind, message):
    knowledge = "oracle" if kind == "exact" else "online"
    register_fake_method(func, "broken-fake", kind=kind, knowledge=knowledge)
    with pytest.raises(AssertionError, match=message):
        check_method("allocate", "broken-fake")


def test_fake_registration_is_undone():
    assert ("allocate", "broken-fake") not in registry._METHODS
    assert registry.get_method("allocate", "random").entry == "optkit.heuristics.allocate.random_baseline:solve"


def test_check_family_catches_a_missing_api_attribute(monkeypatch):
    api = registry.family_api("allocate")
    monkeypatch.delattr(api, "with_reference")
    with pytest.raises(AssertionError, match="lacks 'with_reference'"):
        check_family("allocate")


def test_check_family_catches_a_non_deterministic_generator(monkeypatch):
    api = registry.family_api("allocate")
    real = api.generate
    counter = itertools.count()

    def drifting(params, seed, preset="custom"):
        return real(params, seed + next(counter), preset)

    monkeypatch.setattr(api, "generate", drifting)
    with pytest.raises(AssertionError, match="not deterministic"):
        check_family("allocate")


def test_check_family_catches_an_unregistered_reference(monkeypatch):
    fam = registry.get_family("allocate")
    monkeypatch.setitem(registry._FAMILIES, "allocate", dataclasses.replace(fam, reference_method="nosuch"))
    with pytest.raises(AssertionError, match="reference method 'nosuch'"):
        check_family("allocate")


# ---------------------------------------------------------------- every check runs; declared exceptions


def test_check_method_reports_every_failed_check_at_once(register_fake_method):
    def two_faults(inst, *, seed=0, time_limit=None):
        return _retag(_random(inst, seed), method="broken-fake", status=Status.OPTIMAL, runtime_s=-1.0)

    register_fake_method(two_faults, "broken-fake")
    with pytest.raises(AssertionError) as info:
        check_method("allocate", "broken-fake")
    text = str(info.value)
    assert "[returns a Solution]" in text and "negative runtime" in text
    assert "[honest status]" in text and "optimal without objective/bound" in text


def test_options_declared_catches_an_undeclared_or_drifting_option(register_fake_method):
    from optkit.options import Option

    def takes_more(inst, *, seed=0, time_limit=None, horizon=3):
        return _retag(_random(inst, seed), method="broken-fake")

    register_fake_method(takes_more, "broken-fake")
    with pytest.raises(AssertionError, match=r"takes undeclared options \['horizon'\]"):
        check_method("allocate", "broken-fake")
    register_fake_method(takes_more, "broken-fake", options=(Option("horizon", "int", 5, "look-ahead", low=1),))
    with pytest.raises(AssertionError, match="declares default 5, the solve entry has 3"):
        check_method("allocate", "broken-fake")


def test_a_declared_expected_failure_is_expected_and_flagged_once_it_passes(monkeypatch, register_fake_method):
    spec = register_fake_method(non_deterministic, "broken-fake")
    reason = {"deterministic under a fixed seed": "draws a fresh seed per call"}
    monkeypatch.setitem(registry._METHODS, ("allocate", "broken-fake"), dataclasses.replace(spec, expected_failures=reason))
    passed = check_method("allocate", "broken-fake")
    assert "deterministic under a fixed seed" not in passed and "honest status" in passed
    fixed = register_fake_method(_deterministic_fake, "broken-fake")
    monkeypatch.setitem(registry._METHODS, ("allocate", "broken-fake"), dataclasses.replace(fixed, expected_failures=reason))
    with pytest.raises(AssertionError, match=r"\[deterministic under a fixed seed\] passes, but broken-fake lists it as an expected failure"):
        check_method("allocate", "broken-fake")


def _deterministic_fake(inst, *, seed=0, time_limit=None):
    return _retag(_random(inst, seed), method="broken-fake")


def test_family_expected_failures_must_name_real_checks(monkeypatch):
    fam = registry.get_family("allocate")
    monkeypatch.setitem(registry._FAMILIES, "allocate", dataclasses.replace(fam, expected_failures={"nosuch": "x"}))
    with pytest.raises(AssertionError, match=r"expected_failures names unknown checks \['nosuch'\]"):
        check_family("allocate")
