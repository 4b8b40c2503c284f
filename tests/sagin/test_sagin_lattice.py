"""P2-L lattice, `lattice_dp` and `p2l_milp` (docs/families/sagin.md §5.4, §5.5, §8, §10 checks 25-30)."""
import numpy as np
import pytest

from optkit.errors import InputError, ValidationError
from optkit.formulations.sagin import evaluator as E
from optkit.formulations.sagin import formulation as F
from optkit.formulations.sagin import lattice_dp as D
from optkit.formulations.sagin import p2l_milp as P
from optkit.formulations.sagin.generator import generate
from optkit.scenarios import load_scenario, merge


def _inst(preset, overrides=None, seed=0):
    return generate(merge(load_scenario("sagin", preset).params, overrides or {}), seed, preset)


@pytest.fixture(scope="module")
def tiny():
    inst = _inst("ref-tiny")
    lat = F.build_lattice(inst)
    return inst, lat, {mode: F.gain_table(inst, lat, mode) for mode in ("segment", "node")}


# 3 x 3 x 1 lattice (h = 200 m) in the corner below q_f, for brute force
SMALL = {"airspace": {"x_min": 1000.0, "x_max": 1400.0, "y_min": 1200.0, "y_max": 1600.0},
         "uav": {"starts": [[1000.0, 1200.0, 100.0]],
                 "start_box": [[1000.0, 1400.0], [1200.0, 1600.0], [100.0, 100.0]]}}


def test_lattice_structure():                                                    # §5.4, §8.1 table, check 30
    inst = _inst("ref-tiny")
    lat = F.build_lattice(inst)
    assert lat.n_nodes == 49 and lat.K == 70 and lat.delta == pytest.approx(200 / 70)
    assert np.mean((lat.succ >= 0).sum(axis=1)) == pytest.approx(3.0, abs=0.03)
    assert np.all(lat.succ[lat.dest] < 0)                                        # q_f absorbing
    assert sorted(set(lat.kappa.tolist())) == [7, 10, 12]
    small = F.build_lattice(_inst("ref-small"))
    assert small.n_nodes == 242 and small.K == 105 and D.default_h_max(small) == 14
    assert inst.ref_h_max == D.default_h_max(lat) == 9                          # generator default = DP default
    assert np.mean((small.succ >= 0).sum(axis=1)) == pytest.approx(6.9, abs=0.05)
    for i, m in zip(*np.nonzero(small.succ >= 0)):                                # every admissible move
        p, mv = small.offsets[i], F.MOVES[m]
        assert -p @ mv >= mv @ mv
        np.testing.assert_array_equal(small.offsets[small.succ[i, m]], p + mv)
        assert small.pred[small.succ[i, m], m] == i
    i = int(np.flatnonzero((small.offsets == (-1, -1, 0)).all(axis=1))[0])
    m = int(np.flatnonzero((F.MOVES == (1, 1, 1)).all(axis=1))[0])
    assert small.succ[i, m] == -1                                                # end closer, last third away
    with pytest.raises(ValidationError, match="ref_z_levels"):
        F.build_lattice(_inst("ref-small", {"ref": {"z_levels": [100.0, 250.0]}}))


def test_arrival_ticks_ref_tiny(tiny):                                           # check 26
    inst, lat, _ = tiny
    start = lat.node_index(inst.starts_test[0])
    assert P.arrival_ticks(lat, start) == [40, 44, 48, 52, 54, 56, 58, 62, 66, 68]


@pytest.mark.parametrize("mode", ["segment", "node"])
def test_dp_equals_milp_on_ref_tiny(tiny, mode):                                 # check 26, §8.2
    inst, lat, gains = tiny
    dp = D.solve(inst, lattice=lat, gains=gains[mode])[0]
    milp = P.solve(inst, lattice=lat, gains=gains[mode])
    assert dp.status == "optimal" and milp.status == "optimal"
    assert milp.value == pytest.approx(dp.value, rel=1e-6)
    assert max(s[2] for s in milp.sizes.values()) <= 2820                       # §5.5 size bound
    A, H, t_f, end = F.path_value(gains[mode], lat, dp.start, dp.moves, dp.bs)
    assert end == lat.dest and (H, t_f) == (dp.H, dp.t_f) and A == pytest.approx(dp.A, rel=1e-12)
    assert F.p2l_value(A, H, t_f, lat.delta, inst.objective_lambda) == pytest.approx(dp.value, rel=1e-12)


def test_dp_path_rescored_by_evaluator(tiny):                                    # check 29
    inst, lat, gains = tiny
    paths = D.solve(inst, lattice=lat, gains=gains["segment"])
    ev = E.evaluate(inst, D.decisions(inst, paths))
    j_eval, j_l = ev.details["uavs"][0]["objective"], paths[0].value
    assert abs(j_eval - j_l) <= 0.02 * (abs(j_l) + 1)
    assert ev.metrics["direction_violations"] == 0 and ev.metrics["success"] == 1
    assert ev.metrics["switches"] == paths[0].H
    assert ev.feasible, ev.violations
    ref = E.evaluate(inst, D.decisions(inst, paths))
    ref.details.update(lattice_values=[j_l], gain_mode="segment")    # what the lattice-dp Solution's info gives
    assert E.with_reference(ev, ref).metrics["frac_ref"] == pytest.approx(j_eval / j_l)


def _brute_force(inst, lat, gains, start):
    """Best feasible J over every lattice path and every BS sequence (exhaustive)."""
    B, lam, r_req = gains.n_bs, inst.objective_lambda, float(inst.qos_r_req)
    best, n_paths = -np.inf, 0

    def paths(v, t, moves):
        if v == lat.dest:
            yield list(moves)
            return
        for m in np.flatnonzero(lat.succ[v] >= 0):
            if t + lat.kappa[m] <= lat.K:
                yield from paths(lat.succ[v, m], t + lat.kappa[m], moves + [int(m)])

    for moves in paths(start, 0, []):
        n_paths += 1
        g, v, t = [], start, 0
        for m in moves:
            g.append(gains.arc(v, m, t))
            t += int(lat.kappa[m])
            v = lat.succ[v, m]
        g = np.array(g)                                                          # (n, B)
        seq = np.indices((B,) * len(moves)).reshape(len(moves), -1).T           # (B^n, n) every BS sequence
        A = g[np.arange(len(moves)), seq].sum(axis=1)
        H = (seq[:, 1:] != seq[:, :-1]).sum(axis=1)
        J = F.p2l_value(A, H, t, lat.delta, lam)
        ok = F.p2l_feasible(A, t, r_req, lat.delta)
        if ok.any():
            best = max(best, float(J[ok].max()))
    return best, n_paths


# the last two: minimum time under a QoS requirement that the fastest paths miss (the constraint binds)
@pytest.mark.parametrize("over", [{}, {"objective": {"lambda": [1.0, 0.002, 0.01]}},
                                  {"objective": {"lambda": [0.0, 0.0, 0.01]}, "qos": {"r_req": 5.0}},
                                  {"objective": {"lambda": [0.0, 0.0, 0.01]}, "qos": {"r_req": 5.8},
                                   "ref": {"gain_mode": "node"}}])
def test_dp_optimal_against_brute_force(over):                                   # check 25
    inst = _inst("ref-tiny", merge(SMALL, over))
    lat = F.build_lattice(inst)
    assert lat.n_nodes == 9
    gains = F.gain_table(inst, lat)
    start = lat.node_index(inst.starts_test[0])
    best, n_paths = _brute_force(inst, lat, gains, start)
    assert n_paths >= 5
    dp = D.solve_start(inst, lat, gains, start)
    assert dp.status == "optimal"
    if over.get("qos"):                                                          # the constraint is active
        fastest = D.solve_start(_inst("ref-tiny", merge(SMALL, merge(over, {"qos": {"r_req": 0.0}}))), lat, gains,
                                start)
        assert fastest.t_f < dp.t_f
    assert dp.value == pytest.approx(best, rel=1e-12)


def test_dp_limits_and_infeasibility():                                          # checks 27, 28
    inst = _inst("ref-tiny", merge(SMALL, {"objective": {"lambda": [1.0, 1e6, 0.01]}}))
    lat = F.build_lattice(inst)
    gains = F.gain_table(inst, lat)
    start = lat.node_index(inst.starts_test[0])
    assert D.solve_start(inst, lat, gains, start).H == 0                         # λ2 -> ∞
    fast = _inst("ref-tiny", merge(SMALL, {"objective": {"lambda": [0.0, 0.0, 0.01]}, "qos": {"r_req": 0.0}}))
    assert D.solve_start(fast, lat, gains, start).t_f == 20                      # minimum time: two diagonals
    hopeless = _inst("ref-tiny", merge(SMALL, {"qos": {"r_req": 1e3}}))
    out = D.solve_start(hopeless, lat, gains, start)
    assert out.status == "infeasible" and out.A < 1e3 * out.t_f * lat.delta
    assert P.solve(hopeless, lattice=lat, gains=gains).status == "infeasible"
    base = _inst("ref-tiny", merge(SMALL, {"objective": {"lambda": [1.0, 0.002, 0.01]}}))
    j = [D.solve_start(base, lat, gains, start, h_max=h).value for h in (0, 1, 2, D.default_h_max(lat))]
    assert all(a <= b + 1e-12 for a, b in zip(j, j[1:]))
    capped = _inst("ref-tiny", merge(SMALL, {"objective": {"lambda": [1.0, 0.002, 0.01]}, "ref": {"h_max": 0}}))
    assert D.solve_start(capped, lat, gains, start).value == j[0]                # the instance's ref_h_max is used
    more = D.solve_start(base, lat, gains, start, h_max=D.default_h_max(lat) + 3)
    assert more.value == j[-1] and not more.h_capped                             # the default cap is exact
    by_pos = D.solve(base, inst.starts_test[0], lattice=lat, gains=gains)[0]
    assert by_pos.start == start and by_pos.value == j[-1]
    assert D.solve_start(base, lat, gains, start, h_max=0).h_capped
    with pytest.raises(InputError, match="start"):
        D.solve_start(base, lat, gains, lat.dest)


def test_gain_table_against_direct_formula(tiny):                                # §5.4 move gains
    inst, lat, gains = tiny
    from optkit.formulations.sagin.radio import radio_model
    model = radio_model(inst)
    v = lat.node_index(inst.starts_test[0])
    m = int(np.flatnonzero(lat.succ[v] >= 0)[0])
    head, kap, n, t = lat.nodes[lat.succ[v, m]], int(lat.kappa[m]), int(lat.n_sub[m]), 5
    pts = lat.nodes[v] + np.arange(1, n + 1)[:, None] / n * lat.h * F.MOVES[m]
    seg_t = model.terrestrial_rates(pts).mean(axis=0) * kap * lat.delta
    tau = (t + np.arange(1, n + 1) * kap / n) * lat.delta                        # sub-step times, s
    ticks = np.arange(lat.K + 2) * lat.delta
    sn = model.satellite_rates(np.repeat(head[None], ticks.size, axis=0), ticks)  # head-node SN rate per tick
    seg_s = np.array([np.interp(tau, ticks, sn[:, s]) for s in range(model.n_s)]).mean(axis=1) * kap * lat.delta
    np.testing.assert_allclose(gains["segment"].arc(v, m, t), np.concatenate([seg_t, seg_s]), rtol=1e-10)
    node = model.rates(head[None], (t + kap) * lat.delta)[0] * kap * lat.delta
    np.testing.assert_allclose(gains["node"].arc(v, m, t), node, rtol=1e-10)
