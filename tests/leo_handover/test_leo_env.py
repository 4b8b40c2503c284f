"""Environment of `leo-handover` (docs/families/leo-handover.md §4.5–§4.9, §5.1, checks 15–17): the candidate
prefilter on hand-made episode tables (priority, kept serving satellite, stable / age slots, masks, pads, serving
flag, outages, handover flags and the handover penalty), the observation on the `smoke` preset, and the reward
examples E20–E22."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from optkit.formulations.leo_handover.env import HandoverEnv, instance_env, rollout
from optkit.formulations.leo_handover.episode import (EpisodeTable, Scaler, evaluation_specs, normalized_features,
                                                      reward)
from optkit.formulations.leo_handover.generator import EpisodeSpec

K0 = 100                                           # absolute start step of every hand-made episode
PAD = (1.0, 1.0, 0.0, 1.0)


# ----------------------------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def base_params(smoke):
    return smoke.params()


def feats(k, j, el):
    """Deterministic normalized features of the pair (absolute step k, satellite j) with elevation el (deg)."""
    return [(j % 17) / 20.0, ((k - K0) % 11) / 20.0, min(el / 90.0, 1.0), ((j + k) % 13) / 20.0, 0.3 + j / 1000.0]


def make_table(windows, L, *, el=None, rew=None, dt=1.0, psi=0):
    """EpisodeTable of L steps starting at K0 from absolute eligibility windows [(sat, b, e), ...] (windows may reach
    beyond the episode). el(k, j) -> degrees (default 45), rew(k, j) -> reward (default 0.5)."""
    el = el or (lambda k, j: 45.0)
    rew = rew or (lambda k, j: 0.5)
    rows = []
    for k in range(K0, K0 + L):
        for j, b, e in sorted(windows):
            if b <= k <= e:
                rows.append((k, j, b, e))
    rows.sort(key=lambda r: (r[0], r[1]))
    counts = np.bincount([r[0] - K0 for r in rows], minlength=L) if rows else np.zeros(L, dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n = len(rows)
    col = lambda i: np.array([r[i] for r in rows], dtype=np.int64) if rows else np.zeros(0, dtype=np.int64)
    els = np.array([el(r[0], r[1]) for r in rows], dtype=float)
    return EpisodeTable(
        spec=EpisodeSpec(0, K0, L, psi), dt_s=dt, step_ptr=ptr, sat=col(1), start=col(2), end=col(3),
        el_deg=els, az_deg=np.full(n, 90.0), range_km=np.full(n, 1000.0), dirdiff_deg=np.full(n, 30.0),
        range_rate_kmps=np.zeros(n),
        features=np.array([feats(r[0], r[1], els[i]) for i, r in enumerate(rows)], dtype=float).reshape(n, 5),
        reward=np.array([rew(r[0], r[1]) for r in rows], dtype=float),
    )


def make_env(base_params, **over):
    params = dict(base_params)
    params.update(over)
    return HandoverEnv([object()], params, Scaler(500.0, 1500.0))     # the table is given: the world is a dummy


def slots_of(info):
    return info["cand_ids"].tolist()


def slot(info, sat):
    return slots_of(info).index(sat)


# ----------------------------------------------------------------------------------------------- §4.5 prefilter
def test_priority_newest_first_then_higher_elevation_then_lower_id(base_params):
    # ages at K0: sat 1 -> 10, sats 2, 3, 4 -> 0 ; elevations 2: 40°, 3 and 4: 50° => priority 3, 4, 2, 1
    windows = [(1, K0 - 10, K0 + 5), (2, K0, K0 + 5), (3, K0, K0 + 5), (4, K0, K0 + 5)]
    els = {1: 80.0, 2: 40.0, 3: 50.0, 4: 50.0}
    table = make_table(windows, 3, el=lambda k, j: els[j])
    env = make_env(base_params, n_candidates=2, slot_order="age")
    _, info = env.reset(table.spec, table)
    assert slots_of(info) == [3, 4]
    env = make_env(base_params, n_candidates=3, slot_order="stable")
    _, info = env.reset(table.spec, table)
    assert slots_of(info) == [3, 4, 2]                 # empty slots filled in ascending index, priority order
    env = make_env(base_params, n_candidates=5, slot_order="age")
    _, info = env.reset(table.spec, table)
    assert slots_of(info) == [3, 4, 2, 1, -1]
    assert info["mask"].tolist() == [1, 1, 1, 1, 0]


def test_serving_satellite_kept_while_eligible_among_newer_ones(base_params):
    # sat 1 from K0; a newer satellite appears every step: with M = 2 only the serving one and the newest fit
    windows = [(1, K0, K0 + 4), (2, K0 + 1, K0 + 4), (3, K0 + 2, K0 + 4), (4, K0 + 3, K0 + 4)]
    table = make_table(windows, 5)
    expected_stable = [[1, -1], [1, 2], [1, 3], [1, 4], [1, 4]]
    expected_age = [[1, -1], [2, 1], [3, 1], [4, 1], [4, 1]]
    for order, expected in (("stable", expected_stable), ("age", expected_age)):
        env = make_env(base_params, n_candidates=2, slot_order=order)
        _, info = env.reset(table.spec, table)
        seen = []
        while not info["terminated"]:
            seen.append(slots_of(info))
            assert info["mask"].sum() == min(2, int(table.counts[env.k]))
            _, _, _, _, info = env.step(slot(info, 1))
        assert seen == expected, order
        assert env.srv.tolist() == [1] * 5


def test_without_serving_the_newest_take_the_slots(base_params):
    # same windows, but serving the newest satellite each time: sat 1 is dropped once 2 newer ones exist
    windows = [(1, K0, K0 + 4), (2, K0 + 1, K0 + 4), (3, K0 + 2, K0 + 4)]
    table = make_table(windows, 4)
    env = make_env(base_params, n_candidates=2, slot_order="stable")
    _, info = env.reset(table.spec, table)
    assert slots_of(info) == [1, -1]
    _, _, _, _, info = env.step(0)                      # serve 1
    assert slots_of(info) == [1, 2]
    _, _, _, _, info = env.step(1)                      # serve 2
    # E = {1, 2, 3}: members 2 (serving), then 3 (newest); 1 leaves slot 0, 3 takes it; 2 keeps slot 1
    assert slots_of(info) == [3, 2]


def test_stable_slots_keep_index_and_new_members_fill_ascending(base_params):
    windows = [(5, K0, K0), (6, K0 - 5, K0 + 10), (7, K0 + 1, K0 + 10), (8, K0 + 1, K0 + 10), (9, K0 + 2, K0 + 10)]
    els = {5: 30.0, 6: 45.0, 7: 20.0, 8: 60.0, 9: 35.0}
    table = make_table(windows, 4, el=lambda k, j: els[j])
    env = make_env(base_params, n_candidates=3, slot_order="stable")
    _, info = env.reset(table.spec, table)
    assert slots_of(info) == [5, 6, -1]                 # 5 (age 0) before 6 (age 5)
    _, _, _, _, info = env.step(1)                      # serve 6 (slot 1)
    # 5 left; new 8 (age 0, 60°) then 7 (age 0, 20°) fill the empty slots 0 and 2 in that order; 6 stays in slot 1
    assert slots_of(info) == [8, 6, 7]
    _, _, _, _, info = env.step(2)                      # serve 7 (slot 2)
    # members: 7 (serving), 9 (age 0), 8 (age 1, 60° over 6) -> 6 drops out of slot 1, 9 takes it
    assert slots_of(info) == [8, 9, 7]
    _, _, _, _, info = env.step(2)                      # keep 7
    assert slots_of(info) == [8, 9, 7]
    assert env.srv[:3].tolist() == [6, 7, 7]

    env = make_env(base_params, n_candidates=3, slot_order="age")
    _, info = env.reset(table.spec, table)
    assert slots_of(info) == [5, 6, -1]
    _, _, _, _, info = env.step(1)
    assert slots_of(info) == [8, 7, 6]                  # sorted by priority, serving one at its own position
    _, _, _, _, info = env.step(1)                      # serve 7
    assert slots_of(info) == [9, 8, 7]


def test_masked_action_raises_value_error(base_params):
    table = make_table([(1, K0, K0 + 3)], 3)
    env = make_env(base_params)
    _, info = env.reset(table.spec, table)
    assert info["mask"].tolist() == [1, 0, 0, 0, 0]
    for bad in (1, 4):
        with pytest.raises(ValueError):
            env.step(bad)
    env.step(0)
    assert env.srv[0] == 1


# ----------------------------------------------------------------------------------------------- §4.7 observation
def test_observation_pads_features_and_radial_pad(base_params):
    els = {1: 50.0, 2: 20.0}
    table = make_table([(1, K0, K0 + 3), (2, K0 - 3, K0 + 3)], 3, el=lambda k, j: els[j])
    env = make_env(base_params)
    obs, info = env.reset(table.spec, table)
    assert obs.shape == (20,) and obs.dtype == np.float32
    rows = obs.reshape(5, 4)
    assert slots_of(info) == [1, 2, -1, -1, -1]
    np.testing.assert_allclose(rows[0], feats(K0, 1, 50.0)[:4], atol=1e-7)
    np.testing.assert_allclose(rows[1], feats(K0, 2, 20.0)[:4], atol=1e-7)
    for m in range(2, 5):
        assert rows[m].tolist() == list(PAD)

    env = make_env(base_params, state_features=["dirdiff", "azimuth", "elevation", "range", "radial"])
    obs, info = env.reset(table.spec, table)
    rows = obs.reshape(5, 5)
    np.testing.assert_allclose(rows[0], feats(K0, 1, 50.0), atol=1e-7)
    for m in range(2, 5):
        assert rows[m].tolist() == [1.0, 1.0, 0.0, 1.0, 1.0]

    env = make_env(base_params, state_features=["azimuth", "elevation", "range"])     # ablation: 15 entries
    obs, _ = env.reset(table.spec, table)
    assert obs.shape == (15,)
    np.testing.assert_allclose(obs.reshape(5, 3)[1], feats(K0, 2, 20.0)[1:4], atol=1e-7)
    assert obs.reshape(5, 3)[4].tolist() == [1.0, 0.0, 1.0]


def test_serving_flag_one_hot(base_params):
    table = make_table([(1, K0, K0 + 5), (2, K0 - 2, K0 + 5), (3, K0 - 1, K0 + 5)], 4)
    env = make_env(base_params, serving_flag=True)
    obs, info = env.reset(table.spec, table)
    assert env.obs_dim == 25 and obs.shape == (25,)
    assert obs[20:].tolist() == [0.0] * 5                # nothing served yet
    assert slots_of(info) == [1, 3, 2, -1, -1]
    obs, _, _, _, info = env.step(2)                     # serve sat 2 (slot 2)
    assert obs[20:].tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]
    obs, _, _, _, info = env.step(0)                     # serve sat 1 (slot 0)
    assert obs[20:].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert obs[20:].sum() == 1


# ----------------------------------------------------------------------------------------------- outages
def test_outage_steps_are_skipped_and_recorded(base_params):
    # steps 0-1 outage, sat 1 at 2-3, outage 4-6, sat 2 at 7, outage 8-9 (L = 10)
    table = make_table([(1, K0 + 2, K0 + 3), (2, K0 + 7, K0 + 7)], 10)
    env = make_env(base_params)
    obs, info = env.reset(table.spec, table)
    assert info["outage_steps_skipped"] == 2 and info["k"] == K0 + 2 and not info["terminated"]
    assert slots_of(info) == [1, -1, -1, -1, -1]
    obs, r, term, trunc, info = env.step(0)
    assert info["outage_steps_skipped"] == 0 and info["k"] == K0 + 3
    obs, r, term, trunc, info = env.step(0)
    assert info["outage_steps_skipped"] == 3 and info["k"] == K0 + 7 and not term
    assert info["serving"] == -1                         # the link is lost over the outage
    assert slots_of(info) == [2, -1, -1, -1, -1]         # sat 2 takes slot 0: the slot list was emptied
    obs, r, term, trunc, info = env.step(0)
    assert info["handover"] is False                     # re-attachment after an outage is not a handover
    assert term and not trunc and info["terminated"]
    assert info["outage_steps_skipped"] == 2
    assert obs.reshape(5, 4).tolist() == [list(PAD)] * 5
    assert info["mask"].tolist() == [0] * 5
    assert env.srv.tolist() == [-1, -1, 1, 1, -1, -1, -1, 2, -1, -1]


def test_whole_outage_episode_terminates_at_reset(base_params):
    table = make_table([(3, K0 + 20, K0 + 30)], 6)
    assert table.counts.sum() == 0
    env = make_env(base_params)
    obs, info = env.reset(table.spec, table)
    assert info["terminated"] is True
    assert info["outage_steps_skipped"] == 6
    assert obs.reshape(5, 4).tolist() == [list(PAD)] * 5
    assert info["mask"].tolist() == [0] * 5
    assert env.srv.tolist() == [-1] * 6
    srv, _ = rollout(env, table.spec, lambda e, o, i: 0, table)
    assert srv.tolist() == [-1] * 6


def test_terminal_observation_after_last_decision(base_params):
    table = make_table([(1, K0, K0 + 1), (2, K0, K0 + 9)], 2)
    env = make_env(base_params)
    env.reset(table.spec, table)
    env.step(0)
    obs, _, term, trunc, info = env.step(0)
    assert term and not trunc
    assert obs.reshape(5, 4).tolist() == [list(PAD)] * 5
    assert info["mask"].sum() == 0


# ----------------------------------------------------------------------------------------------- handovers, penalty
def test_handover_forced_flags_and_penalty(base_params):
    # sat 1 eligible at steps 0-2, sat 2 at 0-5; distinct rewards per (k, j)
    windows = [(1, K0, K0 + 2), (2, K0 - 1, K0 + 5)]
    rew = lambda k, j: 0.1 * j + 0.01 * (k - K0)
    table = make_table(windows, 6, rew=rew)
    for c_ho in (0.0, 0.25):
        env = make_env(base_params, handover_penalty=c_ho)
        _, info = env.reset(table.spec, table)
        assert slots_of(info) == [1, 2, -1, -1, -1]
        plan = [1, 2, 1, 2, 2, 2]                        # served satellites
        expected = [(False, False), (True, False), (True, False), (True, True), (False, False), (False, False)]
        for k, (sat, (ho, forced)) in enumerate(zip(plan, expected)):
            _, r, _, _, info = env.step(slot(info, sat))
            assert (info["handover"], info["forced"]) == (ho, forced), k
            assert info["serving"] == sat
            assert r == pytest.approx(rew(K0 + k, sat) - c_ho * ho, abs=1e-12)
        assert info["terminated"]
        assert env.srv.tolist() == plan


# ----------------------------------------------------------------------------------------------- smoke preset
def test_smoke_observation_and_candidates_along_random_rollouts(smoke, smoke_tables):
    env = instance_env(smoke)
    M = 5
    rng = np.random.default_rng(7)
    decisions = 0
    for spec, table in zip(evaluation_specs(smoke), smoke_tables):
        obs, info = env.reset(spec, table)
        prev_slots = None
        while not info["terminated"]:
            k = env.k
            assert obs.shape == (20,) and obs.dtype == np.float32
            assert np.all(obs >= 0.0) and np.all(obs <= 1.0)
            eligible = set(table.sat[table.pairs(k)].tolist())
            cand = slots_of(info)
            assert info["k"] == spec.k0 + k
            assert int(info["mask"].sum()) == min(M, len(eligible))
            assert info["mask"].tolist() == [int(s >= 0) for s in cand]
            assert {s for s in cand if s >= 0} <= eligible
            rows = obs.reshape(M, 4)
            for m, s in enumerate(cand):
                if s < 0:
                    assert rows[m].tolist() == list(PAD)
                else:
                    np.testing.assert_allclose(rows[m], table.features[table.find(k, s), :4], atol=1e-6)
            if env.prev >= 0 and env.prev in eligible:
                assert env.prev in cand                 # the serving satellite never drops out
            if prev_slots is not None and info["outage_steps_skipped"] == 0:
                for m, s in enumerate(prev_slots):      # stable slots: a member keeps its slot index
                    if s >= 0 and s in cand:
                        assert cand[m] == s
            prev_slots = cand
            a = int(rng.choice(np.flatnonzero(info["mask"])))
            obs, _, _, _, info = env.step(a)
            decisions += 1
        assert np.array_equal(env.srv >= 0, table.counts > 0)
    assert decisions > 1000


def test_elevation_30_maps_to_one_third():
    geometry = {"dirdiff_deg": np.array([0.0, 90.0]), "az_deg": np.array([0.0, 180.0]),
                "el_deg": np.array([30.0, 95.0]), "range_km": np.array([500.0, 2000.0]),
                "range_rate_kmps": np.array([0.0, -9.0])}
    x = normalized_features(geometry, Scaler(600.0, 1600.0, 8.0))
    assert x[0, 2] == pytest.approx(0.3333, abs=5e-5)
    assert x[0, 2] == pytest.approx(1 / 3, abs=1e-12)
    np.testing.assert_allclose(x[0], [0.0, 0.0, 1 / 3, 0.0, 0.5], atol=1e-12)   # range below d_min clipped to 0
    np.testing.assert_allclose(x[1], [0.5, 0.5, 1.0, 1.0, 0.0], atol=1e-12)     # El and range clipped to 1


# ----------------------------------------------------------------------------------------------- §4.8 reward
@pytest.mark.parametrize("x, el, expected", [
    ((0.5, 0.5, 0.5, 0.5), 45.0, 0.5),
    ((0.0, 0.0, 1.0, 0.0), 90.0, 1.0),
    ((1.0, 1.0, 0.0, 1.0), 0.0, -0.17),
    ((0.2, 0.9, 0.3, 0.4), 27.0, 0.345),
    ((0.9, 0.9, 0.4, 0.9), 36.0, 0.105),
])
def test_reward_examples(base_params, x, el, expected):
    got = reward(np.array([x]), np.array([el]), base_params)
    assert got.shape == (1,)
    assert got[0] == pytest.approx(expected, abs=1e-9)


def test_reward_thresholds_are_strict(base_params):
    # El = 30° exactly: no elevation penalty; r1 = 0.2 exactly: no low-reward penalty
    x = np.array([[0.0, 0.0, 1 / 3, 0.0]])
    r0 = 0.30 + 0.28 + 0.25 / 3 + 0.17
    assert reward(x, np.array([30.0]), base_params)[0] == pytest.approx(r0, abs=1e-12)
    assert reward(x, np.array([29.999]), base_params)[0] == pytest.approx(r0 - 0.10, abs=1e-12)
    params = dict(base_params, reward_weights=[0.8, 0.0, 0.0, 0.0])
    x = np.array([[0.75, 0.3, 0.3, 0.3]])
    assert reward(x, np.array([45.0]), params)[0] == 0.2
    assert reward(np.array([[0.76, 0.3, 0.3, 0.3]]), np.array([45.0]), params)[0] == pytest.approx(0.192 - 0.07)


def test_smoke_rewards_lie_in_range(smoke_tables):
    for table in smoke_tables:
        assert np.all(table.reward >= -0.17 - 1e-12) and np.all(table.reward <= 1.0 + 1e-12)
        assert np.all((table.features >= 0) & (table.features <= 1))
        assert np.all(table.el_deg >= 10.0)              # E(k) holds El >= El_c only
    assert sum(t.counts.sum() for t in smoke_tables) > 1000


# ----------------------------------------------------------------------------------------------- Gymnasium
def test_gymnasium_env_checker_passes(smoke):
    from gymnasium.utils.env_checker import check_env

    from optkit.formulations.leo_handover.gym_env import LeoHandoverGymEnv

    env = LeoHandoverGymEnv(scenario="smoke", instance=smoke)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    # the only tolerated warning: alternative render modes cannot be tested without an env spec (no rendering)
    problems = [str(w.message) for w in caught if "render" not in str(w.message)]
    assert not problems, problems
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    for _ in range(50):
        a = env.action_space.sample()
        assert info["mask"][a] == 1                      # the action space samples valid slots only
        obs, r, term, trunc, info = env.step(a)
        assert -0.17 - 1e-9 <= r <= 1.0 + 1e-9
        if term:
            break


def test_gymnasium_make_plays_test_episode(smoke, smoke_tables):
    import gymnasium

    import optkit.envs  # noqa: F401  (registers optkit/LeoHandover-v0)

    env = gymnasium.make("optkit/LeoHandover-v0", scenario="smoke")
    obs, info = env.reset(options={"episode": 0})
    k0, L, _ = (int(v) for v in smoke.episodes[0])
    table = smoke_tables[0]
    first = int(np.flatnonzero(table.counts > 0)[0])
    assert k0 <= info["k"] < k0 + L
    assert info["k"] == k0 + first
    assert info["outage_steps_skipped"] == first
    assert int(info["mask"].sum()) == min(5, int(table.counts[first]))
    assert obs.shape == (20,)
    with pytest.raises(ValueError):
        env.reset(options={"episode": smoke.n_test_episodes})
    env.close()
