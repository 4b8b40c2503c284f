"""The sagin environment (docs/families/sagin.md §4.6-4.8, §6.1, §7.1): Gymnasium contract, rollouts scored by the
evaluator with metrics equal to the env's own accumulation (exact backend), determinism, one step's rewards and costs
by hand, arrival (E25) and switch counting (E27), and the cached backend used only when asked."""
import math
import warnings

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from optkit.errors import InputError
from optkit.formulations.sagin import env as envmod
from optkit.formulations.sagin.env import REMAIN, SWITCH, SaginEnv
from optkit.formulations.sagin.evaluator import Decisions, evaluate
from optkit.formulations.sagin.generator import generate
from optkit.formulations.sagin.gym_env import SaginGymEnv, SaginMultiGymEnv
from optkit.formulations.sagin.radio import CachedRadioMap, radio_model, rate_normalisation
from optkit.scenarios import load_scenario, merge

QF = np.array([1400.0, 1600.0, 100.0])
METRICS = ("rate_mbps", "switches", "qsr", "flight_time_s", "objective", "success", "steps",
           "direction_projections", "boundary_events")


def _inst(name, seed=0, overrides=None):
    params = load_scenario("sagin", name).params
    return generate(merge(params, overrides) if overrides else params, seed, name)


def _policy(env, rng, p_switch=0.1, noise=20.0):
    """Scripted exploration: toward q_f plus noise, random Switch to a random candidate."""
    top = (rng.random(env.n_uavs) < p_switch).astype(np.int64)
    mask = env.candidate_mask()
    target = np.array([rng.choice(np.flatnonzero(m)) for m in mask])
    a = env.q_f - env.q + rng.normal(0.0, noise, (env.n_uavs, 3))
    return top, a, target


# ----------------------------------------------------------------------------------------- Gymnasium contract
def test_check_env_single_and_multi(quick):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(SaginGymEnv(instance=quick), skip_render_check=True)
        check_env(SaginMultiGymEnv(instance=quick), skip_render_check=True)
    env = SaginMultiGymEnv(instance=quick)
    obs, info = env.reset(seed=0, options={"split": "test"})
    assert obs.shape == (quick.uav_n_uavs, quick.n_bs + 4) and obs.dtype == np.float32
    assert np.allclose(env.core.q, quick.starts_test)
    assert info["rates"].shape == (quick.uav_n_uavs, quick.n_bs)


def test_gym_episode_runs_to_the_end(quick):
    env = SaginGymEnv(instance=quick, reward="top")
    obs, _ = env.reset(seed=3, options={"split": "test", "uav": 1})
    assert np.allclose(env.core.q[0], quick.starts_test[1])
    steps, done = 0, False
    while not done:
        d = (QF - env.core.q[0]).astype(np.float32)
        obs, r, term, trunc, info = env.step({"top": REMAIN, "direction": d / np.linalg.norm(d), "target": 0})
        assert r == info["r_top"]
        steps += 1
        done = term or trunc
    assert term and not trunc and env.core.arrived[0]
    with pytest.raises(RuntimeError):
        env.step({"top": REMAIN, "direction": np.zeros(3, np.float32), "target": 0})


def test_bad_options_and_actions(quick):
    env = SaginGymEnv(instance=quick)
    with pytest.raises(InputError):
        env.reset(options={"split": "validation"})
    with pytest.raises(InputError):
        env.reset(options={"episodes": 1})
    with pytest.raises(InputError):
        env.reset(options={"split": "test", "uav": 99})
    with pytest.raises(InputError):
        SaginGymEnv(instance=quick, reward="both")
    with pytest.raises(InputError):
        SaginMultiGymEnv(instance=quick).reset(options={"uav": 0})
    env.reset(seed=0)
    b = env.core.b[0]
    with pytest.raises(ValueError):
        env.step({"top": 2, "direction": np.ones(3, np.float32)})
    with pytest.raises(ValueError):
        env.step({"top": SWITCH, "direction": np.ones(3, np.float32), "target": int(b)})     # not a candidate
    with pytest.raises(ValueError):
        env.step({"top": SWITCH, "direction": np.ones(3, np.float32), "target": quick.n_bs})
    with pytest.raises(ValueError):
        env.step({"top": REMAIN, "direction": np.array([np.nan, 0, 0])})
    with pytest.raises(ValueError):
        env.step({"direction": np.ones(3)})


def test_training_starts_are_the_generator_stream(quick):
    from optkit.formulations.sagin.generator import training_starts

    env = SaginMultiGymEnv(instance=quick)
    env.reset(options={"episode": 5})
    assert np.array_equal(env.core.positions[:, 0], training_starts(quick, 6)[5])


# ----------------------------------------------------------------------------------------- evaluator agreement
def test_rollout_decisions_scored_by_evaluator_match_env(quick):
    env = SaginEnv(quick)
    env.reset()
    rng = np.random.default_rng(0)
    while not env.done:
        env.step(*_policy(env, rng))
    ev = evaluate(quick, env.decisions())
    s = env.summary()
    assert set(ev.violations) <= {"qos"}                                    # a physically valid rollout
    for u, rec in enumerate(ev.details["uavs"]):
        for key in METRICS:
            assert rec[key] == pytest.approx(s[key][u], rel=1e-12, abs=1e-12), key   # boundary: the E24 record
    # the E24 record is consistent with the positions: every step the evaluator sees shortened onto the box was
    # clipped (the record may hold more: proposals leaving the box by less than 1e-6 m)
    dec = env.decisions()
    positional = evaluate(quick, Decisions(dec.positions, dec.serving, dec.projections)).details["uavs"]
    assert all(p["boundary_events"] <= s["boundary_events"][u] for u, p in enumerate(positional))
    assert all(0 < p["floor_projections"] <= s["floor_projections"][u] for u, p in enumerate(positional))
    assert s["switches"].sum() > 0 and s["floor_projections"].sum() > 0   # the policy exercised both (D47)


def test_truncated_rollout_matches_evaluator(tiny):
    inst = _inst("ref-tiny", overrides={"uav": {"max_steps": 5}})
    env = SaginEnv(inst)
    env.reset()
    n = 0
    while not env.done:
        res = env.step(np.array([REMAIN]), np.array([[1.0, 0.2, 0.0]]))
        n += 1
    assert n == 5 and res.truncated[0] and not res.terminated[0] and not env.arrived[0]
    ev = evaluate(inst, env.decisions())
    s = env.summary()
    assert ev.violations["not_arrived"] == 1
    for key in METRICS:
        assert ev.metrics[key] == pytest.approx(s[key][0], rel=1e-12, abs=1e-12), key
    gap = np.linalg.norm(env.positions[0, 5] - QF)
    assert s["flight_time_s"][0] == pytest.approx(5.0 + gap / inst.uav_speed)     # §6.3 remaining time


# ----------------------------------------------------------------------------------------- determinism
def test_determinism_under_a_seed(quick):
    def run():
        env = SaginMultiGymEnv(instance=quick)
        env.action_space.seed(11)
        obs, _ = env.reset(seed=7)
        out = [obs]
        for _ in range(25):
            obs, r, term, trunc, info = env.step(env.action_space.sample())
            out += [obs, np.array([r]), info["g_qos"], info["rate"]]
            if term or trunc:
                break
        return out, env.core.decisions()

    (a, da), (b, db) = run(), run()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert all(np.array_equal(x, y) for x, y in zip(da.positions, db.positions))
    assert all(np.array_equal(x, y) for x, y in zip(da.serving, db.serving))


# ----------------------------------------------------------------------------------------- one step by hand
def test_one_step_rewards_and_costs_by_hand(tiny):
    model = radio_model(tiny)
    _, r_max = rate_normalisation(tiny)
    env = SaginEnv(tiny)
    q0 = np.asarray(tiny.starts_test[0], dtype=float)
    obs = env.reset()
    R0 = model.rates(q0[None], 0.0)[0]
    b0 = int(np.argmax(R0))
    assert env.b[0] == b0
    expect_obs = np.zeros(tiny.n_bs + 4, dtype=np.float32)
    expect_obs[b0] = 1.0
    expect_obs[tiny.n_bs] = R0[b0] / r_max
    expect_obs[tiny.n_bs + 1:] = q0 / tiny.airspace_box[1]
    assert np.array_equal(obs[0], expect_obs)

    # step 1: Remain, straight toward q_f (no projection, no clipping)
    xh = (QF - q0) / np.linalg.norm(QF - q0)
    res = env.step(np.array([REMAIN]), 5.0 * xh[None])
    q1 = q0 + 10.0 * xh
    assert np.allclose(env.q[0], q1, atol=1e-12) and env.t[0] == pytest.approx(1.0)
    R1 = model.rates(q1[None], 1.0)[0, b0]
    rR = min(max(R1 / r_max, 0.0), 1.0)
    d0, d1 = np.linalg.norm(QF - q0), np.linalg.norm(QF - q1)
    assert res.rate[0] == pytest.approx(R1, rel=1e-12)
    assert res.r_top[0] == pytest.approx(1.0 * rR)                                     # E28, no switch
    assert res.r_low[0] == pytest.approx(-(1.0 - rR) - d1 / d0)                         # E28 shifted
    assert res.r_low[0] == pytest.approx(rR + (d0 - d1) / d0 - 2.0)                     # paper form − (w_R + w_G)
    assert res.g_qos[0] == pytest.approx((2.0 - R1) / 2.0)                              # E29
    assert res.g_bnd[0] == 0.0 and not res.out[0] and not res.projected[0]

    # step 2: Switch to the best other candidate, direction straight up: projected (v·x̂ = 0 < ε_dir) and clipped
    # at the flat ref-tiny airspace (z = 100 m) -> boundary event, shorter step
    cand = env.candidate_mask()[0]
    c = int(np.argmax(np.where(cand, env.rates_now[0], -np.inf)))
    res = env.step(np.array([SWITCH]), np.array([[0.0, 0.0, 1.0]]), np.array([c]))
    xh1 = (QF - q1) / d1
    eps = tiny.uav_direction_margin
    w = np.array([0.0, 0.0, 1.0]) + eps * xh1
    w /= np.linalg.norm(w)
    q2 = q1 + 10.0 * w
    q2[2] = 100.0
    tau = np.linalg.norm(q2 - q1) / tiny.uav_speed
    assert res.projected[0] and res.out[0] and res.switched[0] and env.b[0] == c
    assert np.allclose(env.q[0], q2, atol=1e-9) and env.t[0] == pytest.approx(1.0 + tau)
    R2 = model.rates(q2[None], 1.0 + tau)[0, c]
    rR2 = min(max(R2 / r_max, 0.0), 1.0)
    assert res.r_top[0] == pytest.approx(rR2 - 1.0)                                    # w_M switch penalty
    assert res.r_low[0] == pytest.approx(-(1.0 - rR2) - np.linalg.norm(QF - q2) / d0)
    assert res.g_bnd[0] == pytest.approx(tiny.reward_eta_bnd)
    assert env.projections[0] == 1 and env.boundary_events[0] == 1
    assert env.switches[0] == 1 and env.switch_actions[0] == 1


# ----------------------------------------------------------------------------------------- arrival and switches
def test_arrival_final_segment_and_switch_counting():
    inst = _inst("ref-tiny", overrides={"uav": {"n_uavs": 2, "starts": [[1350.0, 1600.0, 100.0],
                                                                        [1380.0, 1600.0, 100.0]]}})
    env = SaginEnv(inst)
    env.reset()
    assert env.arrived[1] and not env.active[1] and env.length[1] == 1                # start inside the radius
    assert np.array_equal(env.positions[1, 1], QF) and env.sum_tau[1] == pytest.approx(2.0)
    first = env.step(np.array([SWITCH, SWITCH]), np.array([[1.0, 0, 0], [1.0, 0, 0]]))  # first switch: free (E27)
    assert first.acted.tolist() == [True, False] and first.r_top[1] == 0.0
    second = env.step(np.array([SWITCH, REMAIN]), np.array([[1.0, 0, 0], [0, 0, 0]]))
    assert second.terminated[0] and env.done and not second.truncated.any()          # 30 m <= arrival radius
    dec = env.decisions()
    assert dec.positions[0].shape == (4, 3) and np.array_equal(dec.positions[0][-1], QF)
    assert np.allclose(dec.positions[0][:3, 0], [1350.0, 1360.0, 1370.0])
    assert dec.serving[0][2] == dec.serving[0][1]                                      # final segment keeps b
    assert env.switch_actions[0] == 2 and env.switches[0] == 1
    ev = evaluate(inst, dec)
    assert ev.details["uavs"][0]["switches"] == 1 and ev.details["uavs"][0]["steps"] == 3
    assert ev.details["uavs"][0]["flight_time_s"] == pytest.approx(5.0)              # (10 + 10 + 30) m / 10 m/s
    assert ev.details["uavs"][1]["steps"] == 1 and ev.metrics["success"] == 1.0
    s = env.summary()
    for u in range(2):
        for key in METRICS:
            assert ev.details["uavs"][u][key] == pytest.approx(s[key][u], rel=1e-12, abs=1e-12)


# ----------------------------------------------------------------------------------------- backends
def test_cached_backend_only_when_asked(tiny, monkeypatch):
    with pytest.raises(InputError):
        SaginEnv(tiny, backend="approx")
    box = np.array([[550.0, 750.0, 100.0], [700.0, 900.0, 100.0]])
    small = CachedRadioMap(radio_model(tiny), box)
    with pytest.raises(InputError):
        SaginEnv(tiny, cached_map=small)                                               # exact never takes a map
    calls = []
    monkeypatch.setattr(CachedRadioMap, "rates", lambda self, q, t: calls.append(1) or 1 / 0)
    exact = SaginEnv(tiny)
    assert exact.backend == "exact" and exact.cached is None
    exact.reset()
    exact.step(np.array([REMAIN]), np.array([[1.0, 1.0, 0.0]]))
    assert not calls and ("cached_map", id(tiny)) not in envmod._CACHE
    monkeypatch.undo()

    cached = SaginEnv(tiny, backend="cached", cached_map=small)
    assert cached.cached is small
    cached.reset()
    q0 = np.asarray(tiny.starts_test, dtype=float)
    assert np.array_equal(cached.rates_now, small.rates(q0, 0.0))
    exact_r = radio_model(tiny).rates(q0, 0.0)
    assert np.allclose(cached.rates_now[:, radio_model(tiny).n_t:], exact_r[:, radio_model(tiny).n_t:])  # SN exact
    assert np.max(np.abs(cached.rates_now - exact_r)) < 2.0
    gym_env = SaginGymEnv(instance=tiny, backend="cached", cached_map=small)
    assert gym_env.core.cached is small and SaginGymEnv(instance=tiny).core.cached is None
    assert math.isfinite(cached.step(np.array([REMAIN]), np.array([[1.0, 1.0, 0.0]])).r_low[0])
