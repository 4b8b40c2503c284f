"""Learning tier of the sagin learners, smoke-sized (docs/families/sagin.md D47-D52, checks 33, 33c; ARCHITECTURE.md
"Learners must demonstrably learn"): after a few short episodes on the one-UAV mission of `check-1uav` the
deterministic `ddqn-csac` policy beats its own untrained deterministic policy and a uniformly random policy on J
(D49); the boundary multiplier does not ratchet up on floor proposals (D47, D48); the
validation monitor is recorded (D52). The full gate (check 33b, 100 episodes) and the `ref-small` comparison are
benchmarks/learning/sagin.py. Exact backend (no radio-map build)."""
import numpy as np
import pytest

from optkit.formulations.sagin.env import SaginEnv
from optkit.formulations.sagin.generator import generate
from optkit.learners import harness
from optkit.learners.sagin import ddqn_csac
from optkit.scenarios import load_scenario

pytestmark = pytest.mark.learning


@pytest.fixture(scope="module")
def mission():
    return generate(load_scenario("sagin", "check-1uav").params, 0, "check-1uav")


def _fly(inst, agent=None, rng=None):
    """Deterministic rollout of `agent`, or uniform random Remain/Switch and directions (rng), from the test start."""
    env = SaginEnv(inst, "exact")
    env.reset()
    while not env.done:
        idx = np.flatnonzero(env.active)
        if rng is None:
            act = agent.act(env, idx, None)
            env.step(act["top"], act["direction"], act["target"])
        else:
            mask = env.candidate_mask()
            top = rng.integers(0, 2, env.n_uavs) * mask.any(axis=1)
            target = np.array([rng.choice(np.flatnonzero(m)) if m.any() else 0 for m in mask])
            env.step(top, rng.normal(size=(env.n_uavs, 3)), target)
    s = env.summary()
    end = env.positions[0, env.length[0]]
    return float(s["objective"][0]), float(np.linalg.norm(end - env.q_f)), s


@pytest.fixture(scope="module")
def trained(mission):
    config = harness.load_config("sagin", "ddqn-csac", "smoke")
    config.update(base_seed=0, backend="exact", max_episodes=12, max_episode_steps=150, learning_starts=200,
                  validation_points=3, validation_starts=4)
    states, curve, _ = ddqn_csac.train_on(mission, config, 0)
    agent = ddqn_csac.greedy_policy(config, mission.n_bs + 4, 0, 0, states["model"])
    return config, agent, curve


def test_trained_policy_beats_untrained_and_random(mission, trained):                  # 33c (a), smoke
    config, agent, _ = trained
    j_after, _, _ = _fly(mission, agent)
    j_before, _, _ = _fly(mission, ddqn_csac.Agent(ddqn_csac.config_of(config), mission.n_bs + 4, 0, 0, buffer=1))
    j_random, _, _ = _fly(mission, rng=np.random.default_rng(0))
    assert j_after > j_before and j_after > j_random


def test_floor_proposals_do_not_ratchet_the_boundary_multiplier(trained):              # D47, D48
    _, _, curve = trained
    assert sum(r["floor_projections"] for r in curve) > 0                # the actor proposes below the floor...
    assert all(r["boundary_events"] == 0 for r in curve)                 # ...which is no boundary event
    mu_bnd = [r["mu_bnd"] for r in curve]
    assert mu_bnd == [0.0] * len(curve)                                  # share 0 < d_bnd: stays at its floor 0


def test_validation_monitor_is_recorded(trained):                                      # D52
    _, _, curve = trained
    rows = [r for r in curve if "val_objective" in r]
    assert [r["episode"] for r in rows] == [3, 7, 11]                    # every ⌈12/3⌉ episodes and the last
    assert all(np.isfinite(r["val_objective"]) and 0.0 <= r["val_success"] <= 1.0 for r in rows)
    for r in rows:                                                       # Bernoulli arrivals: se = sqrt(p(1-p)/(n-1))
        p, n = r["val_success"], 4                                       # validation_starts above
        assert r["val_success_se"] == pytest.approx(np.sqrt(p * (1 - p) / (n - 1)), abs=1e-12)
        assert r["val_objective_se"] >= 0.0
