"""leo-handover through the runner: cells of deterministic methods, the reference's configurations, frac columns."""
from __future__ import annotations

import math

import pytest

import optkit
from optkit.bench import make_sweep
from optkit.errors import InputError

LAMS = [{"label": "lam=0", "lam": 0.0}, {"label": "lam=lex", "lam": "lex"}]


def _cells(methods, configs=()):
    sweep = make_sweep("leo-handover", ["smoke"], methods, "0", method_seeds="0-2", configs=configs)
    out = {}
    for cell in sweep.cells():
        out.setdefault((cell.method, cell.config), []).append(cell.method_seed)
    return out


def test_deterministic_methods_run_once_and_seeded_ones_per_method_seed():
    cells = _cells("mrt,random,offline-minho,qlearning")
    assert cells[("mrt", "")] == [0] and cells[("offline-minho", "")] == [0]
    assert cells[("random", "")] == [0, 1, 2] and cells[("qlearning", "")] == [0, 1, 2]


def test_distance_training_curve_follows_the_run_seeds():
    cells = _cells("distance,dqn", [{"label": "curve", "training_curve": True}])
    assert cells[("distance", "curve")] == [0, 1, 2]       # rolled out on each run seed's training episodes
    assert cells[("dqn", "")] == [0, 1, 2]
    plain = _cells("distance,dqn", [{"label": "no-curve", "training_curve": False}])
    assert plain[("distance", "no-curve")] == [0]


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    out = tmp_path_factory.mktemp("leo-bench")
    return optkit.benchmark("leo-handover", "smoke", methods="offline-dp,mrt,score-greedy", seeds="0", out=out,
                            configs=LAMS)


def test_unconfigured_rows_and_the_reference_variants_use_the_default_run(table):
    rows = table.set_index(["method", "config"])
    lex = rows.loc[("offline-dp", "lam=lex")]
    greedy_dp = rows.loc[("offline-dp", "lam=0")]
    mrt = rows.loc[("mrt", "")]
    assert lex["frac_opt"] == 1.0
    # λ = 0 trades handovers for reward: measured against the lexicographic default run, not against itself
    assert greedy_dp["frac_opt"] == pytest.approx(lex["handovers"] / greedy_dp["handovers"]) and greedy_dp["frac_opt"] < 1
    assert greedy_dp["frac_opt_of"] == pytest.approx(greedy_dp["reward"] / lex["reward"]) and greedy_dp["frac_opt_of"] > 1
    assert mrt["frac_opt"] == pytest.approx(1.0)            # mrt reaches H_min on these episodes
    assert mrt["frac_opt_of"] == pytest.approx(mrt["reward"] / lex["reward"])
    assert rows.loc[("score-greedy", ""), "reward"] == pytest.approx(greedy_dp["reward"])


def test_no_frac_bound_for_a_reference_whose_bound_is_not_dual(table):
    assert table["frac_bound"].map(lambda v: isinstance(v, float) and math.isnan(v)).all()


def test_learners_refuse_an_instance_with_other_reward_weights():
    inst = optkit.make_instance("leo-handover", "smoke", 0, overrides={"reward_weights": [0.25, 0.25, 0.25, 0.25]})
    with pytest.raises(InputError, match="reward_weights"):
        optkit.solve(inst, "qlearning", budget="check")
