"""Learner configuration and training-set plumbing (optkit.learners.harness)."""
from __future__ import annotations

import pytest

from optkit.errors import InputError
from optkit.learners import harness


def test_budgets_resolve_and_unknown_names_are_input_errors():
    quick = harness.load_config("allocate", "perfect", "quick")
    paper = harness.load_config("allocate", "perfect", "paper")
    assert quick["budget"] == "quick" and paper["episodes"] == 3000 and quick["episodes"] < paper["episodes"]
    assert paper["eps_decrement_pl"] == 0.00005 and paper["lr"] == 0.001 and paper["batch_size"] == 32
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
