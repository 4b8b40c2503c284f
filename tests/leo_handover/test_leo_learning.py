"""Learning tier of the leo-handover learners (docs/families/leo-handover.md §10 "Learners", D44, D45; ARCHITECTURE.md
"Learners must demonstrably learn"), smoke-sized: the tabular unseen-state fallback (D45) against the rule it names,
the exploration floors of every (method, budget), and the trained learners on `smoke` against `random`, their own
untrained greedy policy and the `distance` baseline's handovers. The published, larger runs are
benchmarks/learning/leo_handover.py."""
import numpy as np
import pytest

import optkit
from optkit.formulations.leo_handover.env import instance_env, rollout
from optkit.formulations.leo_handover.episode import evaluation_specs
from optkit.learners import dqn as dqn_core
from optkit.learners import harness, tabular
from optkit.learners.leo_handover import common

pytestmark = pytest.mark.learning
FAMILY = "leo-handover"


def _greedy_srv(inst, config, states):
    """srv of every test episode under the greedy policy of (config, states), and the policy's unseen counts."""
    env = instance_env(inst)
    counts = {"decisions": 0, "unseen": 0}
    policy = common.greedy_policy(config, states, env, counts)
    return [rollout(env, spec, policy)[0] for spec in evaluation_specs(inst)], counts


def _handovers(inst, srv):
    """Evaluator metrics of serving sequences srv (one per test episode)."""
    from types import SimpleNamespace

    from optkit.formulations.leo_handover.evaluator import Decisions

    return optkit.evaluate(inst, SimpleNamespace(decisions=Decisions(tuple(srv)), info={})).metrics


def test_untrained_table_keeps_the_serving_satellite_else_the_nearest(smoke):            # D45
    config = harness.load_config(FAMILY, "qlearning", "smoke")
    empty = tabular.TabularQ(5, int(config["buckets"])).to_tensors()
    srv, counts = _greedy_srv(smoke, config, empty)
    assert counts["decisions"] > 1000 and counts["unseen"] == counts["decisions"]           # unseen_share = 1
    rule = optkit.solve(smoke, "sticky-nearest").decisions.srv                               # the rule D45 names
    assert all(np.array_equal(a, b) for a, b in zip(srv, rule))
    literal, _ = _greedy_srv(smoke, {**config, "unseen_fallback": "lowest-index"}, empty)    # the literal reading
    h_fallback, h_literal = _handovers(smoke, srv)["handovers"], _handovers(smoke, literal)["handovers"]
    assert h_fallback < h_literal


def test_every_epsilon_schedule_reaches_its_floor_after_75_percent():                    # ARCHITECTURE, §10
    from optkit.scenarios import load_scenario

    for method in ("sarsa", "qlearning", "dqn", "dqn-no-dirdiff"):
        for budget in ("smoke", "quick", "paper"):
            config = harness.load_config(FAMILY, method, budget)
            for preset in ("smoke", "paper-default", "paper-budget"):
                n = common.n_episodes(load_scenario(FAMILY, preset).params, 0, config["max_episodes"])
                eps = [tabular.linear_episode_epsilon(e, n, config["eps_start"], config["eps_end"]) for e in range(n)]
                first = next(e for e, x in enumerate(eps) if x <= config["eps_end"] + 1e-12)
                assert first >= 0.75 * n and min(eps) > 0.0, (method, budget, preset, first, n)


@pytest.fixture(scope="module")
def learned(smoke, cache_dir):
    out = {m: optkit.solve(smoke, m) for m in ("distance", "random")}
    out.update({m: optkit.solve(smoke, m, budget="smoke") for m in ("sarsa", "qlearning", "dqn")})
    return out, {m: optkit.evaluate(smoke, s).metrics for m, s in out.items()}


def test_tabular_learners_hand_over_about_as_rarely_as_distance(learned):              # D45
    """On smoke (10 test episodes of 300-500 steps, ~1 handover each) 99 % of the test states are unseen after 20
    training episodes, so the tabular learners act mostly by the fallback; the decisions on seen states add a few
    handovers (measured: 1.3 per episode against 1.2 for `distance`; the literal fallback makes several times more)."""
    solutions, metrics = learned
    for m in ("sarsa", "qlearning"):
        assert metrics[m]["handovers"] <= 1.25 * metrics["distance"]["handovers"], (m, metrics[m]["handovers"])
        assert 0.0 < solutions[m].info["unseen_share"] <= 1.0
        assert metrics[m]["handovers"] < 0.05 * metrics["random"]["handovers"]


def test_trained_dqn_beats_random_and_its_untrained_self(smoke, learned):                # before vs after (smoke)
    solutions, metrics = learned
    assert metrics["dqn"]["reward"] > metrics["random"]["reward"]
    config = harness.load_config(FAMILY, "dqn", "smoke")
    _, torch_seed = common.run_seeds(smoke.seed, 0)
    untrained = dqn_core.DQNLearner(20, 5, dqn_core.DQNConfig(hidden=tuple(config["hidden"]), buffer=1), 0,
                                    torch_seed=torch_seed).state_dict()
    srv, _ = _greedy_srv(smoke, config, untrained)
    assert metrics["dqn"]["reward"] > _handovers(smoke, srv)["reward"]


def test_curves_record_the_greedy_validation_score_of_the_model_at_that_episode(smoke, learned):     # §10 monitor
    """The smoke budget records the greedy validation columns at episodes 10 and 20 (validation_points = 2); the
    last point equals a fresh greedy rollout of the stored final model on the validation episodes of [S, 800]."""
    from optkit.formulations.leo_handover.env import training_env
    from optkit.learners import checkpoint as ckpt

    solutions, _ = learned
    for m in ("sarsa", "dqn"):
        curve = solutions[m].info["curve"]
        points = [row["episode"] for row in curve if "val_reward" in row]
        assert points == [9, 19], (m, points)
        states, meta = ckpt.load_checkpoint(solutions[m].info["checkpoint"])
        config = meta["config"]
        params = common.learner_params(smoke.params())
        env = training_env(params, smoke.seed)
        due, validate = common.validation_monitor(params, smoke.seed, 20, config["validation_points"],
                                                  config["validation_episodes"])
        assert [e for e in range(20) if due(e)] == points
        again = validate(env, common.greedy_policy(config, states["model"], env))
        assert again == pytest.approx({k: v for k, v in curve[-1].items() if k.startswith("val_")}, rel=1e-12)
        assert again["val_reward"] > 0.0
