"""Offline references of `leo-handover` (docs/families/leo-handover.md §5.2, §8, checks 19, 22, 23, 25, 26): greedy
min-handover, Viterbi DP (λ and lex), the budgeted (j, h) recursion and the Pyomo MILP, against brute-force
enumeration."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from optkit.errors import InputError
from optkit.formulations.leo_handover import offline as off
from optkit.formulations.leo_handover.milp import solve_schedule_milp

LAMBDAS = (0.0, 0.1, 0.5, 1.0, 10.0)
A, B, C = 3, 7, 11                                # satellite ids of the hand-made examples


def episode(elig, end, q):
    """CSR episode data from dense (n_sat, L) eligibility, absolute window ends and qualities."""
    ks, js = np.nonzero(elig.T)                   # step-major, ids ascending within a step
    ptr = np.zeros(elig.shape[1] + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(elig.sum(axis=0))
    return ptr, js.astype(np.int64), end[js, ks].astype(np.int64), q[js, ks].astype(np.float64)


def window_ends(elig):
    """(n_sat, K) last step of the eligibility window containing each step (E16), −1 outside windows."""
    n, K = elig.shape
    end = np.full((n, K), -1, dtype=np.int64)
    for j in range(n):
        run_end = -1
        for k in range(K - 1, -1, -1):
            if elig[j, k]:
                if run_end < 0:
                    run_end = k
                end[j, k] = run_end
            else:
                run_end = -1
    return end


def random_small_case(rng):
    """1–4 satellites over a horizon of 6–15 steps with on/off windows (outages, re-entries); an episode of up to
    9 steps cut from it, so windows may end beyond the episode."""
    n_sat = int(rng.integers(1, 5))
    K = int(rng.integers(6, 16))
    elig = np.zeros((n_sat, K), dtype=bool)
    for j in range(n_sat):
        on = rng.random() < 0.5
        p_stay = rng.uniform(0.5, 0.9)
        for k in range(K):
            elig[j, k] = on
            if rng.random() > p_stay:
                on = not on
    end = window_ends(elig)
    L = int(rng.integers(1, min(9, K) + 1))
    k0 = int(rng.integers(0, K - L + 1))
    q = np.round(rng.uniform(-0.17, 1.0, size=(n_sat, K)), int(rng.integers(1, 4)))   # coarse values force ties
    sub = slice(k0, k0 + L)
    return episode(elig[:, sub], end[:, sub], q[:, sub])


def random_episode(rng, L, n_sat=12, wmin=10, wmax=80):
    """A longer synthetic episode: every satellite alternates random off/on periods (E(k) of 0–4 sats)."""
    elig = np.zeros((n_sat, L), dtype=bool)
    for j in range(n_sat):
        t = -int(rng.integers(0, 200))
        while t < L:
            b = t + int(rng.integers(30, 250))
            e = b + int(rng.integers(wmin, wmax))
            elig[j, max(b, 0):max(min(e, L), 0)] = True
            t = e
    end = window_ends(elig)
    q = rng.uniform(-0.17, 1.0, size=(n_sat, L))
    return episode(elig, end, q)


def enumerate_all(ptr, sat, q):
    """Every feasible serving sequence: (srv (N, L), Σq (N,), H (N,))."""
    L = ptr.size - 1
    options = [range(ptr[k], ptr[k + 1]) if ptr[k + 1] > ptr[k] else [-1] for k in range(L)]
    pairs = np.array(list(itertools.product(*options)), dtype=np.int64).reshape(-1, L)
    on = pairs >= 0
    srv = np.where(on, sat[np.maximum(pairs, 0)] if sat.size else -1, -1)
    sum_q = np.where(on, q[np.maximum(pairs, 0)] if q.size else 0.0, 0.0).sum(axis=1)
    both = on[:, 1:] & on[:, :-1]
    H = (both & (srv[:, 1:] != srv[:, :-1])).sum(axis=1)
    return srv, sum_q, H


def assert_feasible(ptr, sat, srv):
    L = ptr.size - 1
    assert srv.shape == (L,) and srv.dtype == np.int64
    for k in range(L):
        eligible = sat[ptr[k]:ptr[k + 1]].tolist()
        assert (srv[k] == -1) == (not eligible)
        assert srv[k] == -1 or srv[k] in eligible


# ------------------------------------------------------------------------------------------------ check 19
def test_handover_count_examples_of_check_19():
    # (A, A, −1, B, B): re-attachment after the outage is no handover, B = 2 blocks
    ptr = np.array([0, 1, 2, 2, 3, 4])
    sat = np.array([A, A, B, B])
    assert off.schedule_value(ptr, sat, np.ones(4), [A, A, -1, B, B]) == (4.0, 0)
    # (A, B, A) with both eligible throughout: H = 2; a constant sequence: H = 0
    ptr = np.array([0, 2, 4, 6])
    sat = np.array([A, B] * 3)
    q = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert off.schedule_value(ptr, sat, q, [A, B, A]) == (pytest.approx(0.1 + 0.4 + 0.5), 2)
    assert off.schedule_value(ptr, sat, q, [B, B, B]) == (pytest.approx(1.2), 0)
    with pytest.raises(InputError):
        off.schedule_value(ptr, sat, q, [A, C, A])            # C is not eligible
    with pytest.raises(InputError):
        off.schedule_value(ptr, sat, q, [A, -1, A])           # disconnected while a satellite is eligible


def test_min_handover_ties_and_true_window_end():
    # both eligible at step 0 with the same window end: the lower id wins
    ptr = np.array([0, 2, 4])
    assert off.min_handover_schedule(ptr, np.array([A, B, A, B]), np.array([5, 5, 5, 5])).tolist() == [A, A]
    # both reach beyond the episode end (L = 2): the true end decides (B ends at 9, A at 6)
    assert off.min_handover_schedule(ptr, np.array([A, B, A, B]), np.array([6, 9, 6, 9])).tolist() == [B, B]
    # keep the current satellite while eligible even if a longer window appears; re-choose after an outage
    ptr = np.array([0, 1, 3, 3, 5])
    sat = np.array([A, A, C, A, C])
    end = np.array([1, 1, 20, 40, 20])
    assert off.min_handover_schedule(ptr, sat, end).tolist() == [A, A, -1, A]


def test_viterbi_tie_rules():
    ptr = np.array([0, 2, 4])
    sat = np.array([A, B, A, B])
    # equal values everywhere: start at the lower id and stay
    assert off.viterbi_schedule(ptr, sat, np.zeros(4), 0.0).tolist() == [A, A]
    # into B at step 1, staying on B and switching from A tie at λ = 0.5: staying is preferred
    q = np.array([1.0, 0.5, 0.0, 2.0])
    assert off.viterbi_schedule(ptr, sat, q, 0.5).tolist() == [B, B]
    assert off.viterbi_schedule(ptr, sat, q, 0.4).tolist() == [A, B]
    assert off.viterbi_schedule(ptr, sat, q, "lex").tolist() == [B, B]      # H = 0 both, Σq 2.5 > 1
    # final states tie (A, A: 1.5; A, B: 1 + 1 − 0.5): the lower id is backtracked
    q = np.array([1.0, 0.0, 0.5, 1.0])
    assert off.viterbi_schedule(ptr, sat, q, 0.5).tolist() == [A, A]


# ------------------------------------------------------------------------------------------------ check 26
def test_brute_force_on_random_small_cases():
    rng = np.random.default_rng(2026)
    seen = {"outage": 0, "re-entry": 0, "handover": 0}
    for _ in range(500):
        ptr, sat, end, q = random_small_case(rng)
        srv_all, q_all, H_all = enumerate_all(ptr, sat, q)
        H_min = int(H_all.min())
        seen["outage"] += bool(np.any(np.diff(ptr) == 0))
        seen["re-entry"] += any(np.count_nonzero(np.diff(np.r_[0, [j in sat[ptr[k]:ptr[k + 1]] for k in
                                                                    range(ptr.size - 1)], 0]) == 1) > 1
                                for j in np.unique(sat))
        seen["handover"] += H_min > 0

        minho = off.min_handover_schedule(ptr, sat, end)
        assert_feasible(ptr, sat, minho)
        assert off.schedule_value(ptr, sat, q, minho)[1] == H_min

        for lam in LAMBDAS:
            srv = off.viterbi_schedule(ptr, sat, q, lam)
            assert_feasible(ptr, sat, srv)
            s, h = off.schedule_value(ptr, sat, q, srv)
            assert s - lam * h == pytest.approx((q_all - lam * H_all).max(), abs=1e-9)

        srv = off.viterbi_schedule(ptr, sat, q, "lex")
        s, h = off.schedule_value(ptr, sat, q, srv)
        assert h == H_min
        assert s == pytest.approx(q_all[H_all == H_min].max(), abs=1e-9)
        # λ_lex turns the float DP into the lexicographic one (§5.2)
        s2, h2 = off.schedule_value(ptr, sat, q, off.viterbi_schedule(ptr, sat, q, off.lex_lambda(ptr, q)))
        assert h2 == H_min and s2 == pytest.approx(s, abs=1e-9)

        h_budget = int(H_all.max()) + 1
        front = off.budget_front(ptr, sat, q, h_budget)
        expect = np.array([q_all[H_all <= h].max() if np.any(H_all <= h) else -np.inf
                           for h in range(h_budget + 1)])
        assert front.shape == (h_budget + 1,)
        assert np.all(np.isneginf(front) == np.isneginf(expect))
        fin = np.isfinite(expect)
        np.testing.assert_allclose(front[fin], expect[fin], atol=1e-9)
        for h in range(H_min, h_budget + 1):
            srv = off.budget_schedule(ptr, sat, q, h)
            assert_feasible(ptr, sat, srv)
            s, hh = off.schedule_value(ptr, sat, q, srv)
            assert hh <= h and s == pytest.approx(front[h], abs=1e-9)
        if H_min > 0:
            with pytest.raises(InputError):
                off.budget_schedule(ptr, sat, q, H_min - 1)
    assert min(seen.values()) >= 50, seen        # the random cases cover outages, re-entries and forced switches


def test_all_outage_episode():
    ptr = np.zeros(5, dtype=np.int64)
    empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
    assert off.min_handover_schedule(ptr, empty_i, empty_i).tolist() == [-1] * 4
    assert off.viterbi_schedule(ptr, empty_i, empty_f, 1.0).tolist() == [-1] * 4
    assert off.viterbi_schedule(ptr, empty_i, empty_f, "lex").tolist() == [-1] * 4
    assert off.budget_front(ptr, empty_i, empty_f, 2).tolist() == [0.0, 0.0, 0.0]
    assert off.budget_schedule(ptr, empty_i, empty_f, 0).tolist() == [-1] * 4
    assert off.schedule_value(ptr, empty_i, empty_f, [-1] * 4) == (0.0, 0)
    assert off.lex_lambda(ptr, empty_f) == 1.0
    res = solve_schedule_milp(ptr, empty_i, empty_f, 1.0)
    assert res["status"] == "optimal" and res["objective"] == 0.0


# ------------------------------------------------------------------------------------------- checks 22, 23
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dp_properties_on_longer_episodes(seed):
    rng = np.random.default_rng(seed)
    ptr, sat, end, q = random_episode(rng, 1500)
    assert np.any(np.diff(ptr) == 0) and np.diff(ptr).max() >= 2
    g_ub = sum(q[ptr[k]:ptr[k + 1]].max() for k in range(ptr.size - 1) if ptr[k + 1] > ptr[k])
    values = []
    for lam in (0.0, 0.1, 1.0, 10.0, "lex"):
        srv = off.viterbi_schedule(ptr, sat, q, lam)
        assert_feasible(ptr, sat, srv)
        values.append(off.schedule_value(ptr, sat, q, srv))
    assert values[0][0] == pytest.approx(g_ub, rel=1e-12)                  # λ = 0 gives G_UB
    sums, hs = zip(*values)
    assert all(a >= b for a, b in zip(hs, hs[1:]))                        # H(λ) non-increasing
    assert all(a >= b - 1e-9 for a, b in zip(sums, sums[1:]))             # Σq(λ) non-increasing
    minho = off.min_handover_schedule(ptr, sat, end)
    H_min = off.schedule_value(ptr, sat, q, minho)[1]
    assert hs[-1] == H_min                                                 # check 22: lex H = H_min
    front = off.budget_front(ptr, sat, q, hs[0])
    assert np.all(np.isneginf(front[:H_min])) and np.isfinite(front[H_min])
    assert front[H_min] == pytest.approx(sums[-1], rel=1e-12)               # budget H_min = lex Σq
    assert front[hs[0]] == pytest.approx(g_ub, rel=1e-12)                   # budget H(λ=0) reaches G_UB
    assert np.all(np.diff(front[H_min:]) >= -1e-12)


# ------------------------------------------------------------------------------------------------ check 25
@pytest.mark.parametrize("seed", [10, 11])
def test_milp_matches_dp(seed):
    rng = np.random.default_rng(seed)
    ptr, sat, end, q = random_episode(rng, 300, n_sat=10)
    for lam in (0.5, 2.0, 10.0, 1000.0):
        s, h = off.schedule_value(ptr, sat, q, off.viterbi_schedule(ptr, sat, q, lam))
        dp = s - lam * h
        res = solve_schedule_milp(ptr, sat, q, lam, time_limit=60)
        assert res["status"] == "optimal"
        assert res["objective"] == pytest.approx(dp, rel=1e-6, abs=1e-9)
        assert_feasible(ptr, sat, res["srv"])
        s2, h2 = off.schedule_value(ptr, sat, q, res["srv"])
        assert s2 - lam * h2 == pytest.approx(dp, rel=1e-6, abs=1e-9)
    # P2-H: q ≡ 0, λ = 1 gives −H_min, also as the LP relaxation
    H_min = off.schedule_value(ptr, sat, q, off.min_handover_schedule(ptr, sat, end))[1]
    zero = np.zeros_like(q)
    for relax in (False, True):
        res = solve_schedule_milp(ptr, sat, zero, 1.0, relax=relax)
        assert res["status"] == "optimal" and res["objective"] == pytest.approx(-H_min, abs=1e-6)
    res = solve_schedule_milp(ptr, sat, q, 2.0, relax=True)
    s, h = off.schedule_value(ptr, sat, q, off.viterbi_schedule(ptr, sat, q, 2.0))
    assert res["objective"] == pytest.approx(s - 2.0 * h, rel=1e-6)
    # P2-B with C4 equals the budget front; below H_min it is infeasible
    front = off.budget_front(ptr, sat, q, H_min + 2)
    for hb in (H_min, H_min + 2):
        res = solve_schedule_milp(ptr, sat, q, 0.0, h_budget=hb)
        assert res["status"] == "optimal" and res["objective"] == pytest.approx(front[hb], rel=1e-6)
    if H_min > 0:
        assert solve_schedule_milp(ptr, sat, q, 0.0, h_budget=H_min - 1)["status"] == "infeasible"


def test_milp_rejects_lex():
    ptr, sat, q = np.array([0, 1]), np.array([A]), np.array([0.5])
    with pytest.raises(InputError):
        solve_schedule_milp(ptr, sat, q, "lex")
    res = solve_schedule_milp(ptr, sat, q, off.lex_lambda(ptr, q))
    assert res["srv"].tolist() == [A] and res["objective"] == pytest.approx(0.5)
