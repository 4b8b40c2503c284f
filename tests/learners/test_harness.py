"""Learner configuration and training-set plumbing (optkit.learners.harness)."""
from __future__ import annotations

import pytest

from optkit.errors import InputError
from optkit.learners import harness


def test_budgets_resolve_and_unknown_names_are_input_errors():
    quick = harness.load_config("allocate", "perfect", "quick")
    paper = harness.load_config("allocate", "perfect", "paper")
    assert quick["budget"] == "quick" and paper["episodes"] == 3000 and quick["episodes"] < paper["episodes"]
    assert paper["eps_decrement"] == 0.00005 and paper["eps_floor"] == 0.02 and paper["lr"] == 0.001 and paper["batch_size"] == 32
    with pytest.raises(InputError, match="budget"):
        harness.load_config("allocate", "perfect", "huge")
    with pytest.raises(InputError, match="no table"):
        harness.load_config("allocate", "not-a-learner", "quick")


def test_training_set_uses_disjoint_seeds_of_the_same_preset():
    assert harness.split_preset("sweep-requests:7") == ("sweep-requests", "7")
    assert harness.split_preset("tiny") == ("tiny", None)
    ts = harness.TrainingSet("allocate", "tiny")
    inst = ts.instance(3)
    assert inst.seed == 10003 and inst.preset == "tiny" and ts.offset == 10000


def test_code_version_covers_the_family_formulation():
    from optkit.learners.allocate import haddqn, perfect

    for sources in (perfect.SOURCES, haddqn.SOURCES):
        names = {p.name for p in sources}
        assert {"online.py", "env.py", "evaluator.py", "generator.py", "d3ql.py"} <= names


def test_instances_off_their_preset_are_refused_by_learners():
    import optkit

    inst = optkit.make_instance("allocate", "tiny", 2)
    harness.check_preset_instance(inst)                                # a preset instance passes
    other = optkit.make_instance("allocate", "tiny", 2, overrides={"alpha": 0.01})
    with pytest.raises(InputError, match="alpha: 0.01 differs from preset 'tiny'"):
        harness.check_preset_instance(other)
    with pytest.raises(InputError, match="alpha"):
        optkit.solve(other, "perfect", budget="check")
