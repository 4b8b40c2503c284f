"""Method `sca` of allocate (docs/families/allocate.md §7.3): penalty-SCA routine, SCA-TP/SCA-RA LPs, rounding and
repair, the method through the online environment, and the contract suite."""
from __future__ import annotations

import dataclasses
import functools
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp

import optkit
from optkit.checks import METHOD_CHECKS, check_method
from optkit.formulations.allocate.evaluator import evaluate
from optkit.formulations.allocate.network import frame_graph, node_areas
from optkit.formulations.allocate.env import FrameInfo, Request
from optkit.heuristics.allocate import random_baseline, sca
from optkit.formulations.allocate.online import RouteTable, poa_rule
from optkit.solution import Status


@functools.lru_cache(maxsize=None)
def make(preset: str, seed: int = 0):
    return optkit.make_instance("allocate", preset, seed)


def random_lp(rng, m=8, rows=4):
    """A random packing LP in the PenaltyLP form (x = 0 is feasible)."""
    A = sp.csr_matrix(rng.uniform(0, 1, (rows, m)) * (rng.random((rows, m)) < 0.6))
    return sca.PenaltyLP(m, A, rng.uniform(0.5, 2.0, rows), None, None), rng.normal(size=m)


# ---------------------------------------------------------------------------------------------- penalty SCA
def test_mu_schedule():
    assert sca.penalty_mu(0) == 0.05 and sca.penalty_mu(1) == pytest.approx(0.075)
    assert sca.penalty_mu(13) == pytest.approx(0.05 * 1.5 ** 13) and sca.penalty_mu(14) == 10.0   # 9.73, 14.6
    assert sca.penalty_mu(29) == 10.0


def test_problem_is_dpp_and_solver_choice():
    lp, _ = random_lp(np.random.default_rng(0))
    assert lp.problem.is_dpp()
    import cvxpy as cp

    assert sca.lp_solver() == ("HIGHS" if "HIGHS" in cp.installed_solvers() else "CLARABEL")


@pytest.mark.parametrize("seed", range(6))
def test_penalty_sca_iterates_never_get_worse(seed):
    """Minorant property: F_{μ_k}(x^{k+1}) ≥ F_{μ_k}(x^k) for the routine's iterates, and for one SCA step from
    arbitrary (non-vertex) points of the polytope with arbitrary μ."""
    rng = np.random.default_rng(seed)
    lp, c = random_lp(rng)
    x, iterates = sca.penalty_sca(lp, c)
    assert np.array_equal(x, iterates[-1]) and len(iterates) <= sca.MAX_ITERS + 1
    for k in range(len(iterates) - 1):
        mu = sca.penalty_mu(k)
        assert sca.penalized_objective(c, iterates[k + 1], mu) >= sca.penalized_objective(c, iterates[k], mu) - 1e-7
    vertices = [lp.solve(rng.normal(size=lp.m), np.zeros(lp.m)) for _ in range(3)]
    for _ in range(5):
        w = rng.dirichlet(np.ones(3))
        xk = sum(wi * v for wi, v in zip(w, vertices))             # a point of the polytope
        mu = float(rng.uniform(0.05, 10.0))
        x_next = lp.solve(c, mu * (2 * xk - 1))
        assert sca.penalized_objective(c, x_next, mu) >= sca.penalized_objective(c, xk, mu) - 1e-7


def test_penalty_sca_stopping_rules():
    # max x1 + 0.01 x2, x1 + x2 <= 1.3: LP vertex (1, 0.3); μ_0 = 0.05 makes x2's coefficient 0.01 - 0.02 < 0
    lp = sca.PenaltyLP(2, sp.csr_matrix([[1.0, 1.0]]), np.array([1.3]), None, None)
    x, iterates = sca.penalty_sca(lp, np.array([1.0, 0.01]))
    np.testing.assert_allclose(iterates[0], [1.0, 0.3], atol=1e-9)
    np.testing.assert_allclose(x, [1.0, 0.0], atol=1e-9)
    assert len(iterates) == 2                                      # integral after one penalised solve
    # an integral LP relaxation stops at step 1
    _, iterates = sca.penalty_sca(lp, np.array([1.0, -1.0]))
    assert len(iterates) == 1
    # the vertex does not move under μ_0 (x2's coefficient 1 - 0.4 μ stays > 0): stop on ‖x¹ − x⁰‖∞ ≤ 1e-4
    x, iterates = sca.penalty_sca(lp, np.array([1.0, 1.0]))
    assert len(iterates) == 2 and sca.fractionality(x) == pytest.approx(0.3)


def test_clarabel_agrees_with_highs_on_an_integral_lp():
    lp_h = sca.PenaltyLP(2, sp.csr_matrix([[1.0, 1.0]]), np.array([1.3]), None, None, solver="HIGHS")
    lp_c = sca.PenaltyLP(2, sp.csr_matrix([[1.0, 1.0]]), np.array([1.3]), None, None, solver="CLARABEL")
    c = np.array([1.0, 0.01])
    np.testing.assert_allclose(sca.penalty_sca(lp_c, c)[0], sca.penalty_sca(lp_h, c)[0], atol=1e-4)


# ---------------------------------------------------------------------------------------------- SCA-TP
def test_sca_tp_moves_uavs_to_uncovered_demand():
    static = make("tiny")                                   # RSUs in areas 8 and 6; UAVs start in area 6
    cache = sca.ProblemCache(sca.lp_solver())
    current = np.array([6, 6])
    w = np.zeros(static.A)
    areas, _ = sca.sca_tp(static, cache, current, w)
    np.testing.assert_array_equal(areas, current)           # no demand: stay (no movement energy)
    w[3], w[8] = 2.0, 5.0                                   # area 8 is covered by its RSU
    areas, _ = sca.sca_tp(static, cache, current, w)
    assert 3 in areas.tolist() and 8 not in areas.tolist()
    assert cache.compiled == 1                              # one TP problem per shape, re-solved


# ---------------------------------------------------------------------------------------------- SCA-RA
def test_sca_ra_one_exclusive_channel_per_area_and_frame():
    """Two requests in area 8 (RSU 1), one channel: the LP serves one of them, rounding gives it the channel in
    all K slots, a route and deployed hosts; the other gets nothing."""
    static = dataclasses.replace(make("tiny"), C=1, e_chan=np.array([2.0]))
    uav_area = np.array([0, 0], dtype=np.int64)
    reqs = [Request(r, r, 0, (r,), (10.0,), 0, 4, 3, 4.0, 80.0) for r in range(2)]
    info = FrameInfo(1, np.full(10, 8), [], reqs, uav_area, node_areas(static, uav_area),
                     frame_graph(static, uav_area))
    cache = sca.ProblemCache(sca.lp_solver())
    poa, channels, placement, service, _, size = sca.sca_ra(static, info, np.ones((1, static.A)), cache)
    assert poa == {0: 1, 1: 1} and size > 0
    served = sorted(service)
    assert len(served) == 1
    r = served[0]
    assert channels == {(r, static.K + k): 0 for k in range(static.K)}
    entry = service[r]
    assert entry.route[0] == 1 and (r, entry.hosts[r]) in placement and entry.hosts[r] in entry.route
    # q̂ = 0.2: K q̂ = 2 < Ť_r = 3, no eligible channel, nothing decided
    _, channels, _, service, _, _ = sca.sca_ra(static, info, np.full((1, static.A), 0.2), cache)
    assert channels == {} and service == {}


@pytest.mark.parametrize("seed", range(3))
def test_sca_decisions_are_integral_and_exclusive(seed):
    inst = make("tiny", seed)
    sol = sca.solve(inst)
    d = sol.decisions
    assert np.issubdtype(np.asarray(d.uav_area).dtype, np.integer)
    per_frame = Counter((r, tau // inst.K) for r, tau in d.channels)
    assert all(k == inst.K for k in per_frame.values())      # whole channel for the whole frame
    for (r, t) in per_frame:
        assert len({d.channels[(r, t * inst.K + k)] for k in range(inst.K)}) == 1
        assert (r, t) in d.service
    users = Counter((c, inst.area(r, tau // inst.K), tau) for (r, tau), c in d.channels.items())
    assert max(users.values(), default=1) == 1
    for (r, t), entry in d.service.items():
        assert all((f, n) in d.placement[t] for f, n in entry.hosts.items())
    assert all(isinstance(v, int) for v in d.channels.values())


# ---------------------------------------------------------------------------------------------- the method
@pytest.mark.parametrize("seed", range(4))
def test_sca_on_tiny_is_accepted_by_the_evaluator(seed):
    inst = make("tiny", seed)
    sol = sca.solve(inst)
    assert sol.status == optkit.solution.Status.FEASIBLE and sol.runtime_s > 0
    ev = evaluate(inst, sol)
    assert ev.metrics["viol_collision"] == 0
    assert ev.feasible, ev.violations                        # no PoA, route or capacity violation either


def test_check_method_sca():
    passed = check_method("allocate", "sca")
    assert passed[-1] == "honest status" and passed == [name for name, _ in METHOD_CHECKS]


def test_sca_beats_random_on_small():
    sca_obj, rnd_obj = [], []
    for seed in range(5):
        inst = make("small", seed)
        sca_obj.append(evaluate(inst, sca.solve(inst)).metrics["objective"])
        rnd_obj.append(evaluate(inst, random_baseline.solve(inst)).metrics["objective"])
    assert np.mean(sca_obj) > np.mean(rnd_obj)


def test_a_solver_failure_is_an_error_status_with_the_committed_frames(monkeypatch):
    import optkit

    calls = {"n": 0}
    real = sca.sca_ra

    def failing_ra(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise sca.SolverFailure("RA LP status infeasible_inaccurate")
        return real(*args, **kwargs)

    monkeypatch.setattr(sca, "sca_ra", failing_ra)
    inst = optkit.make_instance("allocate", "tiny", 0)
    solution = sca.solve(inst)
    assert solution.status == Status.ERROR
    assert "infeasible_inaccurate" in solution.info["message"]
    assert solution.runtime_s > 0
    evaluate(inst, solution)          # the frames committed before the failure are still a valid record
