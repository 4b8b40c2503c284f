"""Exact offline references of `leo-handover` on one episode (§5.2, §7.3, §8.1, §8.2).

Every function works on the eligibility data of one episode of L steps, stored CSR over steps:

* `step_ptr`: (L+1,) int64 offsets; the eligible satellites of step k (0-based inside the episode) are the pairs
  step_ptr[k]:step_ptr[k+1]; an empty range is an outage step (E(k) = ∅).
* `pair_sat`: (S,) int64 satellite ids, strictly ascending within each step.
* `pair_end`: (S,) int64 absolute end step of the pair's current eligibility window (E16); only compared.
* `q`: (S,) float64 link quality q_{k,j} of each pair (quality units).
* A serving sequence `srv` is (L,) int64, −1 exactly at outage steps (§6.2).

The recursions run as plain Python loops over lists: with |E(k)| ≈ 2 a per-step numpy call costs more than the
arithmetic it replaces. `budget_front` is vectorized over the handover count h.
"""
from __future__ import annotations

import numpy as np

from optkit.errors import InputError

LEX = "lex"


# ----------------------------------------------------------------------------------------------- data helpers
def _check(step_ptr, pair_sat, *arrays):
    """Validated (step_ptr, pair_sat, *arrays) as int64/int64/... numpy arrays; raises InputError."""
    step_ptr = np.asarray(step_ptr, dtype=np.int64)
    pair_sat = np.asarray(pair_sat, dtype=np.int64)
    if step_ptr.ndim != 1 or step_ptr.size < 1 or step_ptr[0] != 0:
        raise InputError("step_ptr: expected a 1-D array of L+1 offsets starting at 0")
    if np.any(np.diff(step_ptr) < 0):
        raise InputError("step_ptr: offsets must be non-decreasing")
    S = int(step_ptr[-1])
    if pair_sat.shape != (S,):
        raise InputError(f"pair_sat: expected shape ({S},) (= step_ptr[-1]), got {pair_sat.shape}")
    step = _step_of(step_ptr)
    same_step = step[1:] == step[:-1]
    if np.any(np.diff(pair_sat)[same_step] <= 0):
        raise InputError("pair_sat: satellite ids must be strictly ascending within each step")
    if S and pair_sat.min() < 0:
        raise InputError("pair_sat: satellite ids must be >= 0")
    out = [step_ptr, pair_sat]
    for arr in arrays:
        arr = np.asarray(arr)
        if arr.shape != (S,):
            raise InputError(f"per-pair array: expected shape ({S},), got {arr.shape}")
        out.append(arr)
    return out


def _step_of(step_ptr):
    """(S,) int64 episode step k of every pair."""
    L = step_ptr.size - 1
    return np.repeat(np.arange(L, dtype=np.int64), np.diff(step_ptr))


def _prev_pair(step_ptr, pair_sat):
    """(S,) int64 index of the same satellite's pair at step k−1, or −1 when j ∉ E(k−1) (also at k = 0).

    Pairs are sorted by (step, satellite), so the key step·N + sat is strictly ascending and one searchsorted
    finds every predecessor at once."""
    S = pair_sat.size
    if S == 0:
        return np.zeros(0, dtype=np.int64)
    step = _step_of(step_ptr)
    n = int(pair_sat.max()) + 1
    key = step * n + pair_sat
    want = (step - 1) * n + pair_sat
    pos = np.minimum(np.searchsorted(key, want), S - 1)
    ok = (step > 0) & (key[pos] == want)
    return np.where(ok, pos, -1)


# ----------------------------------------------------------------------------------------- §6.3 metrics of srv
def handover_count(srv) -> int:
    """H: changes of serving id between two consecutive connected steps (§6.3); srv (L,) with −1 at outages."""
    srv = np.asarray(srv)
    prev, cur = srv[:-1], srv[1:]
    return int(np.count_nonzero((prev >= 0) & (cur >= 0) & (prev != cur)))


def schedule_value(step_ptr, pair_sat, q, srv):
    """(Σq, H) of a serving sequence: Σ q_{k,srv_k} over connected steps (quality units) and the handover count H
    (§6.3: a change of serving id between two consecutive connected steps; first attach and re-attachment after
    an outage are not handovers). Raises InputError when srv is not feasible (§6.2: wrong length, srv_k ∉ E(k),
    or srv_k = −1 at a connected step)."""
    step_ptr, pair_sat, q = _check(step_ptr, pair_sat, q)
    L = step_ptr.size - 1
    srv = np.asarray(srv, dtype=np.int64)
    if srv.shape != (L,):
        raise InputError(f"srv: expected shape ({L},), got {srv.shape}")
    conn = np.diff(step_ptr) > 0
    if np.any((srv == -1) & conn):
        raise InputError("srv: −1 at a step with an eligible satellite (§6.2 rule 2)")
    on = srv != -1
    if np.any(on & ~conn):
        raise InputError("srv: a satellite served at an outage step (§6.2 rule 3)")
    ks = np.flatnonzero(on)
    sum_q = 0.0
    if ks.size:
        n = int(max(pair_sat.max(), srv.max())) + 1
        key = _step_of(step_ptr) * n + pair_sat
        want = ks * n + srv[ks]
        pos = np.minimum(np.searchsorted(key, want), key.size - 1)
        if np.any(key[pos] != want) or np.any(srv[ks] < 0):
            raise InputError("srv: a served satellite is not eligible at its step (§6.2 rule 3)")
        sum_q = float(q[pos].sum())
    return sum_q, handover_count(srv)


def lex_lambda(step_ptr, q):
    """λ_lex = 1 + Σ_k (max_{j∈E(k)} q − min_{j∈E(k)} q) over connected steps (§5.2, P2-lex), quality units.

    Any λ above the largest possible Σq difference between two schedules makes one handover less always win."""
    step_ptr = np.asarray(step_ptr, dtype=np.int64)
    q = np.asarray(q, dtype=np.float64)
    starts = step_ptr[:-1][np.diff(step_ptr) > 0]
    if starts.size == 0:
        return 1.0
    # segments between consecutive non-empty starts are exactly the pairs of one step (empty steps add none)
    spread = np.maximum.reduceat(q, starts) - np.minimum.reduceat(q, starts)
    return 1.0 + float(spread.sum())


# ------------------------------------------------------------------------------------------- §8.1 min handover
def min_handover_schedule(step_ptr, pair_sat, pair_end):
    """(L,) int64 serving sequence with the minimum number of handovers H_min (§8.1 greedy interval covering).

    Keep the current satellite while it stays eligible; otherwise (first attach, re-attach after an outage or a
    forced handover) take the eligible satellite whose window ends last (true end, even beyond the episode);
    ties go to the lower id (first maximum, ids ascend within a step)."""
    step_ptr, pair_sat, pair_end = _check(step_ptr, pair_sat, pair_end)
    L = step_ptr.size - 1
    S = pair_sat.size
    nxt = np.full(S, -1, dtype=np.int64)          # pair of the same satellite at step k+1
    prev = _prev_pair(step_ptr, pair_sat)
    has = prev >= 0
    nxt[prev[has]] = np.flatnonzero(has)
    ptr, nx, end = step_ptr.tolist(), nxt.tolist(), pair_end.tolist()
    chosen = [-1] * L                             # pair index served at every step
    cur = -1                                      # pair index served at the previous step, −1 after an outage
    for k in range(L):
        a, b = ptr[k], ptr[k + 1]
        if a == b:                                # outage: drop the link
            cur = -1
            continue
        cur = nx[cur] if cur >= 0 else -1         # the current satellite's pair at k, if still eligible
        if cur < 0:                               # argmax end_j(k), ties: lower id
            cur = a
            for p in range(a + 1, b):
                if end[p] > end[cur]:
                    cur = p
        chosen[k] = cur
    chosen = np.asarray(chosen, dtype=np.int64)
    return np.where(chosen >= 0, pair_sat[np.maximum(chosen, 0)] if S else -1, -1).astype(np.int64)


# -------------------------------------------------------------------------------------------------- §8.2 Viterbi
def viterbi_schedule(step_ptr, pair_sat, q, lam):
    """(L,) int64 serving sequence maximizing Σq − λ·H (P2-λ, §8.2) for a float λ ≥ 0 (quality units per
    handover), or, with lam == "lex", minimizing H first and maximizing Σq second (P2-lex, (−H, Σq) tuples).

    Each connected block is solved on its own (blocks are independent, the episode optimum is their sum). Ties:
    staying beats switching, the best predecessor and the final state are the lowest id."""
    step_ptr, pair_sat, q = _check(step_ptr, pair_sat, q)
    q = np.asarray(q, dtype=np.float64)
    L = step_ptr.size - 1
    prev = _prev_pair(step_ptr, pair_sat).tolist()
    ptr, qs = step_ptr.tolist(), q.tolist()
    S = len(qs)
    back = [-1] * S                               # predecessor pair, −1 at a block's first step
    if isinstance(lam, str):
        if lam != LEX:
            raise InputError(f"lam: expected a float >= 0 or 'lex', got {lam!r}")
        block_best = _viterbi_lex(L, ptr, qs, prev, back)
    else:
        lam = float(lam)
        if not np.isfinite(lam) or lam < 0:
            raise InputError(f"lam: expected a finite float >= 0, got {lam!r}")
        block_best = _viterbi_float(L, ptr, qs, prev, back, lam)
    srv = np.full(L, -1, dtype=np.int64)
    step = _step_of(step_ptr).tolist()
    sats = pair_sat.tolist()
    for p in block_best:                          # backtrack every block from its best final state
        while p >= 0:
            srv[step[p]] = sats[p]
            p = back[p]
    return srv


def _viterbi_float(L, ptr, qs, prev, back, lam):
    """§8.2 recursion V_k(j) = q_{k,j} + max(V_{k−1}(j), V*_{k−1} − λ); fills back, returns each block's best
    final pair."""
    V = [0.0] * len(qs)
    block_best = []
    vstar, jstar = 0.0, -1                        # best value and pair of the previous step (jstar −1: outage)
    for k in range(L):
        a, b = ptr[k], ptr[k + 1]
        if a == b:
            if jstar >= 0:
                block_best.append(jstar)          # previous step ended a block
            jstar = -1
            continue
        if jstar < 0:                             # block start: V_p(j) = q_{p,j}
            for p in range(a, b):
                V[p] = qs[p]
        else:
            thr = vstar - lam                     # value of switching in from j*
            for p in range(a, b):
                i = prev[p]
                if i >= 0 and V[i] >= thr:        # stay ≥ V* − λ: stay (ties prefer staying)
                    V[p] = qs[p] + V[i]
                    back[p] = i
                else:
                    V[p] = qs[p] + thr
                    back[p] = jstar
        jstar, vstar = a, V[a]                    # argmax, ties: lower id (first maximum)
        for p in range(a + 1, b):
            if V[p] > vstar:
                jstar, vstar = p, V[p]
    if jstar >= 0:
        block_best.append(jstar)
    return block_best


def _viterbi_lex(L, ptr, qs, prev, back):
    """The §8.2 recursion on (−H, Σq) tuples compared lexicographically; fills back, returns each block's best
    final pair."""
    V = [(0, 0.0)] * len(qs)
    block_best = []
    vstar, jstar = (0, 0.0), -1
    for k in range(L):
        a, b = ptr[k], ptr[k + 1]
        if a == b:
            if jstar >= 0:
                block_best.append(jstar)
            jstar = -1
            continue
        if jstar < 0:
            for p in range(a, b):
                V[p] = (0, qs[p])
        else:
            sw = (vstar[0] - 1, vstar[1])         # switching costs one handover
            for p in range(a, b):
                i = prev[p]
                if i >= 0 and V[i] >= sw:         # ties prefer staying
                    V[p] = (V[i][0], V[i][1] + qs[p])
                    back[p] = i
                else:
                    V[p] = (sw[0], sw[1] + qs[p])
                    back[p] = jstar
        jstar, vstar = a, V[a]
        for p in range(a + 1, b):
            if V[p] > vstar:
                jstar, vstar = p, V[p]
    if jstar >= 0:
        block_best.append(jstar)
    return block_best


# ------------------------------------------------------------------------------------------- §8.2 P2-B budget
def _budget_pass(step_ptr, pair_sat, q, h_budget, keep_back):
    """One recursion over the whole episode with state (j, h), h = 0..h_budget (§8.2 P2-B).

    V_k(j, h) is the best Σq of a schedule up to step k that serves j at k with at most h handovers (−inf when
    impossible). Staying keeps h, switching in from the previous step's best with h − 1; at a block's first step
    V = q + carry[h], the best over the previous block's last step (re-attachment is free). Only the previous
    step's V is kept in memory. Returns (best_q (H+1,), stay (S, H+1) bool or None, arg (L, H+1) int32 best pair
    per step and h or None, conn (L,) bool); the back-pointer arrays only with keep_back."""
    step_ptr, pair_sat, q = _check(step_ptr, pair_sat, q)
    q = np.asarray(q, dtype=np.float64)
    if isinstance(h_budget, bool) or int(h_budget) != h_budget or h_budget < 0:
        raise InputError(f"h_budget: expected an integer >= 0, got {h_budget!r}")
    nh = int(h_budget) + 1
    L = step_ptr.size - 1
    S = pair_sat.size
    prev = _prev_pair(step_ptr, pair_sat)
    stay = np.zeros((S, nh), dtype=bool) if keep_back else None
    arg = np.full((L, nh), -1, dtype=np.int32) if keep_back else None
    conn = np.diff(step_ptr) > 0
    ptr = step_ptr.tolist()
    carry = np.zeros(nh)                          # best Σq of the finished blocks, per h
    best = None                                   # (H+1,) best over the previous step's pairs, None after outage
    V_prev = np.full((1, nh), -np.inf)            # previous step's V plus a last −inf row (j ∉ E(k−1))
    a_prev = 0
    sw = np.empty(nh)
    for k in range(L):
        a, b = ptr[k], ptr[k + 1]
        if a == b:
            if best is not None:
                carry = best
            best = None
            continue
        V = np.empty((b - a + 1, nh))
        V[-1] = -np.inf
        qa = q[a:b, None]
        if best is None:                          # block start: re-attachment costs no handover
            V[:-1] = qa + carry
        else:
            sw[0] = -np.inf                       # switch: from the best state with h − 1 handovers
            sw[1:] = best[:-1]
            pp = prev[a:b]
            st = V_prev[np.where(pp >= 0, pp - a_prev, V_prev.shape[0] - 1)]
            keep = st >= sw                       # ties prefer staying
            V[:-1] = qa + np.where(keep, st, sw)
            if keep_back:
                stay[a:b] = keep
        blk = V[:-1]
        if keep_back:
            arg[k] = a + blk.argmax(axis=0)       # ties: lower id (first maximum)
        best = blk.max(axis=0)
        V_prev, a_prev = V, a
    if best is not None:
        carry = best
    return carry, stay, arg, conn


def budget_front(step_ptr, pair_sat, q, h_budget):
    """(h_budget+1,) float64 best Σq (quality units) with at most h handovers, h = 0..h_budget (P2-B, §8.2);
    −inf where h < H_min. An episode without connected steps gives 0 for every h."""
    return _budget_pass(step_ptr, pair_sat, q, h_budget, keep_back=False)[0]


def budget_schedule(step_ptr, pair_sat, q, h_budget):
    """(L,) int64 serving sequence with at most h_budget handovers and Σq = budget_front(...)[h_budget] (P2-B),
    by backtracking the (j, h) recursion. Raises InputError when h_budget < H_min (no such schedule)."""
    best, stay, arg, conn = _budget_pass(step_ptr, pair_sat, q, h_budget, keep_back=True)
    step_ptr = np.asarray(step_ptr, dtype=np.int64)
    pair_sat = np.asarray(pair_sat, dtype=np.int64)
    L = step_ptr.size - 1
    h = int(h_budget)
    srv = np.full(L, -1, dtype=np.int64)
    ks = np.flatnonzero(conn)
    if ks.size == 0:
        return srv
    if not np.isfinite(best[h]):
        raise InputError(f"h_budget: {h} is below the minimum number of handovers of this episode")
    prev = _prev_pair(step_ptr, pair_sat).tolist()
    step = _step_of(step_ptr).tolist()
    conn_l = conn.tolist()
    sats = pair_sat.tolist()
    p = int(arg[ks[-1], h])
    while True:
        k = step[p]
        srv[k] = sats[p]
        if k == 0 or not conn_l[k - 1]:           # block start: continue in the previous block with the same h
            earlier = ks[ks < k]
            if earlier.size == 0:
                break
            p = int(arg[earlier[-1], h])
        elif stay[p, h]:
            p = prev[p]
        else:
            h -= 1
            p = int(arg[k - 1, h])
    return srv
