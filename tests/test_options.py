"""Declared method options: one binding for the API, the runner and the CLI; exact rules and messages."""
from __future__ import annotations

import math

import pytest

from optkit import registry
from optkit.errors import InputError
from optkit.options import Option, bind, learner_options, time_limit

EPISODES = Option("episodes", "int", None, "training episodes", low=1, nullable=True, stage="both")
LAM = Option("lam", "float|str", "lex", "price", choices=("lex",), low=0.0)
GAP = Option("gap", "float", 1e-4, "relative gap", low=0.0, high=1.0)
MODE = Option("mode", "str", "a", "mode", choices=("a", "b"))
FLAG = Option("flag", "bool", False, "a switch")
BASE = Option("base_seed", "int", 0, "base seed", low=0, stage="train")
DECLARED = (time_limit(), EPISODES, LAM, GAP, MODE, FLAG, BASE)


@pytest.mark.parametrize("option, value, expected", [
    (EPISODES, 5, 5), (EPISODES, None, None), (LAM, "lex", "lex"), (LAM, 2, 2.0), (LAM, 0.0, 0.0),
    (GAP, 0, 0.0), (GAP, 1, 1.0), (MODE, "b", "b"), (FLAG, True, True), (time_limit(), 3, 3.0),
])
def test_accepted_values_come_back_typed(option, value, expected):
    got = option.check(value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("option, value, message", [
    (EPISODES, 0, "episodes: must be an integer >= 1 (or null), got 0"),
    (EPISODES, -5, "episodes: must be an integer >= 1"),
    (EPISODES, 2.5, "episodes: must be an integer"),
    (EPISODES, True, "episodes: must be an integer"),         # a bool is not a count
    (EPISODES, "10", "episodes: must be an integer"),
    (LAM, -1, "lam: must be a number >= 0 or one of lex, got -1"),
    (LAM, "many", "lam: must be a number >= 0 or one of lex"),
    (LAM, math.nan, "lam: must be a number >= 0"),
    (GAP, 1.5, "gap: must be a number >= 0 and <= 1, got 1.5"),
    (GAP, math.inf, "gap: must be a number"),
    (GAP, None, "gap: must be a number"),                    # not nullable
    (MODE, "c", "mode: must be one of a, b, got 'c'"),
    (MODE, 1, "mode: must be one of a, b"),
    (FLAG, 1, "flag: must be true or false, got 1"),
    (time_limit(), 0, "time_limit: must be a number > 0 (or null), got 0"),
    (time_limit(), math.nan, "time_limit: must be a number > 0"),
])
def test_rejected_values_name_the_option_and_the_rule(option, value, message):
    with pytest.raises(InputError) as info:
        option.check(value)
    assert str(info.value).startswith(message)


def test_bind_checks_every_given_option_and_leaves_out_none():
    assert bind("m", DECLARED, {"episodes": 3, "lam": 1, "gap": None, "time_limit": 2}) == \
        {"episodes": 3, "lam": 1.0, "time_limit": 2.0}


def test_bind_refuses_undeclared_options_and_options_of_the_other_stage():
    with pytest.raises(InputError, match="--horizon: method 'm' does not take this option$"):
        bind("m", DECLARED, {"horizon": 3})
    with pytest.raises(InputError, match="--base-seed: method 'm' does not take this option$"):
        bind("m", DECLARED, {"base_seed": 1})                  # training only
    assert bind("m", DECLARED, {"base_seed": 1, "episodes": 2}, stage="train") == {"base_seed": 1, "episodes": 2}
    with pytest.raises(InputError, match="--lam: method 'm' does not take this option when training"):
        bind("m", DECLARED, {"lam": 1.0}, stage="train")


def test_a_declaration_rejects_an_unknown_type_or_stage():
    with pytest.raises(ValueError, match="unknown type"):
        Option("x", "complex", 0, "")
    with pytest.raises(ValueError, match="stage"):
        Option("x", "int", 0, "", stage="later")


def test_time_limit_is_part_of_every_method_and_the_declared_one_wins():
    random = registry.get_method("allocate", "random")
    assert [o.name for o in random.all_options()] == ["time_limit"] and random.takes("time_limit")
    exact = registry.get_method("allocate", "allocate")
    assert exact.option("time_limit").default == 600.0
    assert [o.name for o in exact.all_options()].count("time_limit") == 1


def test_learner_options_carry_the_budget_names():
    budget = learner_options()[0]
    assert budget.name == "budget" and "paper" in budget.choices
    with pytest.raises(InputError, match="budget: must be one of check, smoke, quick, fast, reduced, paper"):
        budget.check("huge")


def test_the_api_refuses_a_bad_option_before_any_work(monkeypatch):
    import optkit

    spec = registry.get_method("leo-handover", "dqn")
    monkeypatch.setattr(type(spec), "load", lambda self: pytest.fail("the method must not run"))
    inst = optkit.make_instance("leo-handover", "smoke", 0)
    for bad in ({"episodes": -5}, {"episodes": math.nan}, {"device": "tpu"}, {"budget": "huge"}):
        with pytest.raises(InputError):
            optkit.solve(inst, "dqn", **bad)


def test_method_registration_refuses_duplicate_or_seed_options():
    spec = registry.MethodSpec(family="allocate", id="fake-opts", kind="heuristic", knowledge="online",
                               entry="nowhere:nothing", description="", options=(GAP, GAP))
    with pytest.raises(ValueError, match="distinct names"):
        registry.register_method(spec)
    seeded = registry.MethodSpec(family="allocate", id="fake-opts", kind="heuristic", knowledge="online",
                                 entry="nowhere:nothing", description="", options=(Option("seed", "int", 0, ""),))
    with pytest.raises(ValueError, match="other than 'seed'"):
        registry.register_method(seeded)
    assert ("allocate", "fake-opts") not in registry._METHODS
