"""Channel, road graph, waypoints and safety layer of `uav-ugv` against hand-computed values (§10 checks 1–10)."""
from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest

import optkit
from optkit.errors import InputError, ValidationError
from optkit.formulations.uav_ugv import channel, safety
from optkit.formulations.uav_ugv.generator import generate
from optkit.scenarios import load_scenario


def test_fspl_and_free_space_gain(paper):                         # check 1
    assert channel.fspl_db(paper, 1000.0) == pytest.approx(98.4624, abs=1e-3)
    assert -10 * np.log10(channel.g0(paper)) == pytest.approx(38.4624, abs=1e-3)


@pytest.mark.parametrize("psi, expected", [(0, 0.021873), (10, 0.099714), (20, 0.354251), (30, 0.730979),
                                           (45, 0.967692), (60, 0.996980), (90, 0.999975)])
def test_los_probability_table(paper, psi, expected):             # check 2
    assert channel.p_los(paper, psi) == pytest.approx(expected, abs=1e-5)


def test_los_probability_increasing(paper):
    p = channel.p_los(paper, np.linspace(0, 90, 500))
    assert np.all(np.diff(p) > 0) and np.all((p > 0) & (p < 1))


def test_user_straight_below(paper):                              # check 3
    L = channel.path_loss_db(paper, 100.0, 100.0)
    assert L == pytest.approx(79.4628, abs=1e-3)
    q = np.array([[0.0, 0.0, 100.0]])
    S = channel.access_power(paper, q, np.zeros((1, 2)))
    assert 10 * np.log10(S[0, 0] * 1e3) == pytest.approx(-49.4628, abs=1e-3)
    assert 10 * np.log10(channel.sinr(paper, S)[0, 0]) == pytest.approx(40.537, abs=1e-3)
    se = channel.spectral_efficiency(paper, S)[0, 0]
    assert se == pytest.approx(13.466, abs=1e-3)
    assert paper.bandwidth_hz * se / 1e6 == pytest.approx(269.33, abs=0.01)
    eta = channel.excess_db(paper, np.linspace(0, 90, 50))
    assert eta.min() >= paper.beta_los_db and eta.max() <= paper.beta_nlos_db


@pytest.mark.parametrize("h, z, expected", [(500, 100, 110.329), (1000, 150, 117.029), (300, 30, 107.045)])
def test_path_loss_values(paper, h, z, expected):                 # check 4
    assert channel.path_loss_db(paper, np.hypot(h, z), z) == pytest.approx(expected, abs=1e-3)


def test_elevation_and_los_at_500m(paper):
    psi = channel.elevation_deg(100.0, np.hypot(500.0, 100.0))
    assert psi == pytest.approx(11.310, abs=1e-3)
    assert channel.p_los(paper, psi) == pytest.approx(0.12017, abs=1e-5)


@pytest.mark.parametrize("z, radius", [(30, 719), (100, 772), (150, 828)])
def test_backhaul_radius(paper, z, radius):                       # check 5
    assert channel.backhaul_radius_m(paper, z) == pytest.approx(radius, abs=2.0)
    assert channel.backhaul_radius_m(paper, z, 10.0) == pytest.approx({30: 1266, 100: 1308, 150: 1347}[z], abs=2.0)


def test_pure_nlos_radius(paper):
    nlos = dataclasses.replace(paper, beta_los_db=paper.beta_nlos_db)
    # 3-D radius with η = β_NLoS everywhere: P_m G_0 10^(−2) / (σ² d²) = γ_min
    d = np.sqrt(nlos.ugv_power_w * channel.g0(nlos) * 10 ** (-nlos.beta_nlos_db / 10) / nlos.noise_w
                / 10 ** (nlos.snr_min_backhaul_db / 10))
    assert d == pytest.approx(671.2, abs=0.1)


def test_interference(paper):                                     # check 6
    users = np.array([[0.0, 0.0]])
    one = channel.access_power(paper, np.array([[100.0, 0.0, 100.0]]), users)
    assert channel.sinr(paper, one)[0, 0] == pytest.approx(one[0, 0] / paper.noise_w)
    far = channel.sinr(paper, channel.access_power(paper, np.array([[100.0, 0, 100], [900.0, 0, 100]]), users))
    near = channel.sinr(paper, channel.access_power(paper, np.array([[100.0, 0, 100], [400.0, 0, 100]]), users))
    assert near[0, 0] < far[0, 0]


def test_equal_sharing_sinr_thresholds(paper):                    # check 7
    for n_u, db in ((20, -3.83), (25, -2.66)):
        se = paper.rate_min_bps * n_u / paper.bandwidth_hz
        assert 10 * np.log10(2 ** se - 1) == pytest.approx(db, abs=0.01)


def _crosses(p1, p2, p3, p4) -> bool:
    def orient(a, b, c):
        return np.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))
    return orient(p1, p2, p3) * orient(p1, p2, p4) < 0 and orient(p3, p4, p1) * orient(p3, p4, p2) < 0


@pytest.mark.parametrize("seed", [0, 1])
def test_road_graph(seed):                                        # check 8
    params = load_scenario("uav-ugv", "paper-default").params
    inst = generate(params, seed, "paper-default")
    import networkx as nx

    g = nx.Graph()
    g.add_edges_from((int(a), int(b)) for a, b, _, _ in inst.road_edges)
    assert nx.is_connected(g) and g.number_of_nodes() == 49
    e = inst.road_edges
    nodes = inst.road_nodes
    for i in range(len(e)):
        for j in range(i + 1, len(e)):
            if len({e[i, 0], e[i, 1], e[j, 0], e[j, 1]}) == 4:
                assert not _crosses(nodes[int(e[i, 0])], nodes[int(e[i, 1])], nodes[int(e[j, 0])], nodes[int(e[j, 1])])
    s, rho = 500.0, inst.road_jitter_frac
    assert e[:, 2].min() >= s * (1 - 2 * rho) - 1e-9
    assert e[:, 2].max() <= np.hypot(s * (1 + 2 * rho), 2 * rho * s) + 1e-9
    again = generate(params, seed, "paper-default")
    digest = [hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest() for x in (inst.road_nodes, inst.road_edges)]
    assert digest == [hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()
                      for x in (again.road_nodes, again.road_edges)]
    assert 650 <= inst.n_waypoints <= 900


def test_waypoints_and_reach(tiny):                               # check 9
    inst = tiny
    assert np.all(inst.arcs[:, 3] <= inst.slot_s + 1e-9)
    R = inst.reach_matrix.toarray()
    assert np.all(np.diag(R)) and np.array_equal(R, R.T)
    H = inst.home_hops[0]
    home = int(inst.ugv_home[0])
    assert H[home] == 0
    for w in range(inst.n_waypoints):
        if w != home:
            assert (H[inst.reach(w)] == H[w] - 1).any()


def _push_away(inst, rng):
    def policy(env):
        a = rng.uniform(-1, 1, env.action_dim)
        away = env.q - np.asarray(inst.uav_home)
        a[:3 * inst.n_uavs] = (away / np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-9)).ravel()
        if not away.any():
            a[:3 * inst.n_uavs] = rng.uniform(-1, 1, 3 * inst.n_uavs)
        return a
    return policy


@pytest.mark.parametrize("preset", ["tiny-exact", "tiny-exact-lattice", "quick"])
def test_safety_layer_keeps_hard_constraints(preset):             # check 10
    from optkit.formulations.uav_ugv.env import rollout
    from optkit.formulations.uav_ugv.evaluator import hard_checks
    from optkit.formulations.uav_ugv.grid_dp import lattice

    inst = optkit.make_instance("uav-ugv", preset, 3)
    rng = np.random.default_rng(5)
    for policy in (lambda env: rng.uniform(-1, 1, env.action_dim) * 3, _push_away(inst, rng)):
        plan = rollout(inst, policy)
        step = np.linalg.norm(np.diff(plan.q, axis=1), axis=-1)
        assert step.max() <= inst.horizontal_step + 1e-9
        assert np.array_equal(plan.q[:, -1], inst.uav_home)
        assert np.array_equal(plan.ugv_wp[:, -1], inst.ugv_home)
        assert hard_checks(inst, plan) == {}
        if inst.action_mode == "lattice":
            pts, _ = lattice(inst)
            d = np.linalg.norm(plan.q.reshape(-1, 3)[:, None] - pts[None], axis=-1).min(axis=1)
            assert d.max() < 1e-6


def test_ugv_step_tie_rules(tiny):
    w = np.asarray(tiny.ugv_home)
    pts = tiny.waypoints
    nxt = safety.ugv_step(tiny, w, pts[w], 0)                      # target = current point: stay
    assert np.array_equal(nxt, w)


def test_degenerate_single_slot_stays_home():
    inst = optkit.make_instance("uav-ugv", "quick", 0, overrides={"n_slots": 1})
    from optkit.formulations.uav_ugv.env import rollout

    plan = rollout(inst, lambda env: np.ones(env.action_dim))
    assert np.array_equal(plan.q[:, 1], inst.uav_home)


@pytest.mark.parametrize("override, field", [
    ({"uav_zmax": 20.0}, "uav_zmax"), ({"uav_z0": 200.0}, "uav_z0"), ({"rate_min_bps": 0.0}, "rate_min_bps"),
    ({"rate_min_bps": -1.0}, "rate_min_bps"), ({"n_uavs": 3, "uav_home_mode": "lattice_column"}, "uav_home_mode"),
    ({"env_class": "rural"}, "env_class"), ({"bandwidth_sharing": "half"}, "bandwidth_sharing"),
    ({"no_such_field": 1}, "no_such_field"), ({"action_mode": "lattice"}, "action_mode"),
])
def test_bad_parameters_name_the_field(override, field):          # check 30
    with pytest.raises(ValidationError) as err:
        optkit.make_instance("uav-ugv", "quick", 0, overrides=override)
    assert err.value.field == field


def test_disconnected_road_graph_is_refused(tiny):
    edges = np.asarray(tiny.road_edges)
    keep = edges[(edges[:, 0] != 0) & (edges[:, 1] != 0)]             # isolate node 0
    with pytest.raises(ValidationError, match="connected"):
        dataclasses.replace(tiny, road_edges=keep).validate()


def test_unknown_preset_and_method_exit_2(tmp_path):
    from typer.testing import CliRunner

    from optkit.cli import app

    runner = CliRunner()
    for args in (["solve", "-f", "sum-rate", "--scenario", "nope"], ["solve", "-f", "uav-ugv", "-m", "nope"],
                 ["solve", "-f", "uav-ugv", "--scenario", "quick", "--option", "uav_zmax=1"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output


def test_instance_json_round_trip(quick):                         # check 19 (serialization)
    again = optkit.make_instance("uav-ugv", "quick", 0)
    assert again.to_json() == quick.to_json()
    assert type(quick).from_json(quick.to_json()).to_json() == quick.to_json()


def test_lattice_needs_tiny_geometry():
    with pytest.raises(InputError):
        from optkit.formulations.uav_ugv.grid_dp import check_lattice_instance

        check_lattice_instance(optkit.make_instance("uav-ugv", "quick", 0))


def test_gym_env_passes_check_env():
    import gymnasium
    from gymnasium.utils.env_checker import check_env

    import optkit.envs  # noqa: F401

    env = gymnasium.make("optkit/UavUgv-v0", scenario="tiny-exact", seed=0).unwrapped
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    total = 0.0
    done = False
    while not done:
        obs, r, done, trunc, info = env.step(env.action_space.sample())
        total += info["reward_mbps"]
        assert env.observation_space.contains(obs)
    assert env.core.n == env.instance.n_slots and np.isfinite(total)
