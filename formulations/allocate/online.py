"""Shared online building blocks of the allocate family (§7.0, §7.2.4, §7.4).

Used by `sca`, `haddqn` and `perfect`. Every function sees only what an online method may see
(§6.2): the masked `static` instance of `OnlineEnv`, the `FrameInfo` of the current (or previous)
frame, and the environment's `Feedback`.

Conventions (those of `OnlineEnv.commit_frame`):
* PoA map: {request id r: node id n};
* channel blocks: {(r, tau): c} with tau the *global* slot index t*K + k (k = 0..K-1 in the frame);
* placement: set of deployed (f, n);
* service: {r: ServiceEntry(route, hosts)}.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optkit.formulations.allocate import physics
from optkit.formulations.allocate.env import Feedback, FrameInfo, Request
from optkit.formulations.allocate.network import candidate_routes
from optkit.formulations.allocate.record import ServiceEntry

PRIOR = 0.5            # Q̄^{-1} (E16)
BAYES_WEIGHT = 0.3     # λ (E16, Decision D12)
BETA_HEDGE = 0.99      # β_hedge (E17, Decision D11)
INFEASIBLE_COST = 1e9  # "cost 10⁹" of the Hungarian RB allocator (§7.4)
CAP_TOL = 1e-9         # capacity comparisons use the evaluator's tolerance (§6.3 step 6)


# ---------------------------------------------------------------------------------------------- §7.0 basics
def demand_grid(static, info: FrameInfo) -> np.ndarray:
    """dem^t_a = Σ_{r∈A_t, a(u_r,t)=a} Σ_f Ǐ_{r,f}, (A,) Mbps (§7.0 demand grid) over info.active."""
    dem = np.zeros(static.A)
    for q in info.active:
        dem[int(info.ue_area[q.ue])] += float(sum(q.demand))
    return dem


def _poa_key(static, n: int) -> tuple:
    """Order of the PoA rule: largest Ĉ_n, then RSU before UAV, then lower id."""
    return (-float(static.cap[n]), 0 if static.node_type(n) == "rsu" else 1, n)


def poa_rule(static, info: FrameInfo) -> dict[int, int]:
    """§7.0 PoA rule for every active request: r -> the RSU/UAV in a(u_r,t) with the largest Ĉ_n
    (ties: RSU before UAV, then lower id). Requests whose area holds no RSU or UAV are absent."""
    access = range(static.n_core, static.N)
    by_area: dict[int, int] = {}
    for n in sorted(access, key=lambda n: _poa_key(static, n)):
        by_area.setdefault(int(info.node_area[n]), n)
    return {q.r: by_area[int(info.ue_area[q.ue])] for q in info.active if int(info.ue_area[q.ue]) in by_area}


def priority_key(request: Request, t: int) -> tuple:
    """ω^t_r as a sort key, highest priority first (§7.2.4, D12): remaining frames T'_r + 𝒯_{s_r} − t,
    then Ď_r, then r (all ascending)."""
    return (request.entry + request.duration - t, request.latency, request.r)


# ---------------------------------------------------------------------------------------------- routes
@dataclass(frozen=True)
class RouteOption:
    """A physical route of G^t: nodes (head first), link ids, D_p (ms), E_p (eu)."""

    nodes: tuple
    links: tuple
    lat: float
    energy: float

    def order_key(self) -> tuple:
        """Router order (§7.0): (E_p, D_p, hop count, node sequence)."""
        return (self.energy, self.lat, len(self.nodes) - 1, self.nodes)


class RouteTable:
    """CR(h, G^t) (§7.0, network.candidate_routes) per head for one frame, sorted in router order; cached."""

    def __init__(self, graph):
        self.graph = graph
        self._cache: dict[int, list[RouteOption]] = {}

    def routes(self, head: int) -> list[RouteOption]:
        if head not in self._cache:
            options = []
            for nodes in candidate_routes(self.graph, head):
                edges = [self.graph.edges[u, v] for u, v in zip(nodes[:-1], nodes[1:])]
                options.append(RouteOption(tuple(int(n) for n in nodes), tuple(int(e["l"]) for e in edges),
                                           float(sum(e["lat"] for e in edges)),
                                           float(sum(e["energy"] for e in edges))))
            self._cache[head] = sorted(options, key=RouteOption.order_key)
        return self._cache[head]


def route_requests(static, info: FrameInfo, poa: dict, requests, placement) -> dict[int, ServiceEntry]:
    """§7.0 Router ("min-energy feasible route") for frame info.t.

    requests: the Request objects to route (the caller passes those with at least one allocated block);
    they are processed in increasing (Ď_r, r); requests without a PoA in `poa` are skipped.
    placement: the deployed instances {(f, n)} of the frame (Y^t). Node capacities start at Ĉ_n and link
    bandwidths at L̂_l; each committed request reserves Ǐ_{r,f} on its hosts and Ľ_r on its route links.
    Returns {r: ServiceEntry(route, hosts)} for the requests that got a route.
    """
    table = RouteTable(info.graph)
    rem_cap = np.array(static.cap, dtype=float)
    rem_bw = np.array(static.link_cap, dtype=float)
    deployed = set(placement)
    service: dict[int, ServiceEntry] = {}
    for q in sorted(requests, key=lambda q: (q.latency, q.r)):
        if q.r not in poa:
            continue
        for p in table.routes(poa[q.r]):
            if p.lat > q.latency or any(rem_bw[l] < q.bw - CAP_TOL for l in p.links):
                continue
            hosts = _host_functions(q, p.nodes, deployed, rem_cap)
            if hosts is not None:
                for f, demand in zip(q.funcs, q.demand):
                    rem_cap[hosts[f]] -= demand
                rem_bw[list(p.links)] -= q.bw
                service[q.r] = ServiceEntry(p.nodes, hosts)
                break
    return service


def _host_functions(q: Request, nodes: tuple, deployed: set, rem_cap: np.ndarray) -> dict | None:
    """Router host choice: for each f in service order, the route node with (f, n) deployed and remaining
    capacity ≥ Ǐ_{r,f} (earlier functions of r counted) with the largest remaining capacity, ties closest
    to the head. None if some function cannot be hosted."""
    reserved: dict[int, float] = {}
    hosts = {}
    for f, demand in zip(q.funcs, q.demand):
        best = None
        for pos, n in enumerate(nodes):
            left = rem_cap[n] - reserved.get(n, 0.0)
            if (f, n) in deployed and left >= demand - CAP_TOL and (best is None or left > best[0]):
                best = (left, n)          # strict '>' keeps the node closest to the head on ties
        if best is None:
            return None
        hosts[f] = best[1]
        reserved[best[1]] = reserved.get(best[1], 0.0) + demand
    return hosts


# ---------------------------------------------------------------------------------------------- E16 estimate
class ChannelEstimate:
    """Bayesian channel-quality estimate Q̄ (C, A) of E16: prior 0.5, weight λ = 0.3.

    `update(feedback)` applies Q̄ ← λ O^t + (1−λ) Q̄ on the areas observed in frame t (feedback.observed_quality:
    area -> (C, K) realized quality), leaving the others unchanged. With weight = 1 it is the reactive
    "latest observation, 0.5 if never" estimate q̂ of SCA-RA (§7.3)."""

    def __init__(self, C: int, A: int, *, prior: float = PRIOR, weight: float = BAYES_WEIGHT):
        self.q = np.full((int(C), int(A)), float(prior))
        self.weight = float(weight)

    def update(self, feedback: Feedback) -> np.ndarray:
        C, A = self.q.shape
        obs = np.zeros((C, A))
        mask = np.zeros((C, A), dtype=bool)
        for a, quality in feedback.observed_quality.items():
            quality = np.asarray(quality)
            obs[:, int(a)] = physics.frame_observation(quality, 0, quality.shape[-1])   # O^t_{c,a}
            mask[:, int(a)] = True
        self.q = physics.bayes_update(self.q, obs, mask, self.weight)
        return self.q


class SuccessRate:
    """Running empirical success rate p̄ over every observed (c, a, τ) (§7.4 HaDDQN); 0.5 before any."""

    def __init__(self, prior: float = PRIOR):
        self.prior = float(prior)
        self.good = 0
        self.seen = 0

    def update(self, feedback: Feedback) -> float:
        for quality in feedback.observed_quality.values():
            quality = np.asarray(quality)
            self.good += int(quality.sum())
            self.seen += int(quality.size)
        return self.rate

    @property
    def rate(self) -> float:
        return self.good / self.seen if self.seen else self.prior


# ---------------------------------------------------------------------------------------------- Algorithm 3
def algorithm3(static, info: FrameInfo, poa: dict, estimate: np.ndarray, *, hedge: bool = True,
               beta: float = BETA_HEDGE) -> dict[tuple[int, int], int]:
    """Algorithm 3 of §7.2.4 for all slots of frame info.t: {(r, tau): c}, tau = t*K + k.

    poa: {r: node} for the active requests (PoA rule); estimate: Q̄ (C, A). Block length need[r] =
    b(Ť_r, Q̄[c,a]) (E17) with the Q̄ of the first channel at which r is considered (hedge) or Ť_r (literal
    variant, hedge=False). Nodes of one area share the `used` table (C4); a request never holds two
    channels in one slot (C3).
    """
    K, t = static.K, info.t
    estimate = np.asarray(estimate, dtype=float)
    by_r = {q.r: q for q in info.active if q.r in poa}
    used: dict[int, np.ndarray] = {}          # area -> (C, K) bool
    held: dict[int, np.ndarray] = {}          # r -> (K,) bool, slots already allocated to r
    need: dict[int, int] = {}
    channels: dict[tuple[int, int], int] = {}
    for n in sorted({poa[r] for r in by_r}):
        a = int(info.node_area[n])
        used_a = used.setdefault(a, np.zeros((static.C, K), dtype=bool))
        c_sorted = sorted(range(static.C), key=lambda c: (-estimate[c, a], float(static.e_chan[c]), c))
        r_sorted = sorted((by_r[r] for r in by_r if poa[r] == n), key=lambda q: priority_key(q, t))
        for c in c_sorted:
            k = 0
            while k < K:
                progress = False
                for q in r_sorted:
                    if q.r not in need:
                        need[q.r] = int(physics.hedged_block_length(q.slots, estimate[c, a], K, beta)) if hedge \
                            else int(q.slots)
                    mine = held.setdefault(q.r, np.zeros(K, dtype=bool))
                    rem = need[q.r] - int(mine.sum())
                    if rem <= 0:
                        continue
                    k2 = k + min(rem, K - k)
                    if not mine[k:k2].any() and not used_a[c, k:k2].any():
                        for kk in range(k, k2):
                            channels[(q.r, t * K + kk)] = c
                        mine[k:k2] = True
                        used_a[c, k:k2] = True
                        k = k2
                        progress = True
                        if k >= K:
                            break
                if not progress:
                    k += 1
    return channels


# ---------------------------------------------------------------------------------------------- §7.3/§7.4 reactive
def reactive_area_weights(static, info: FrameInfo | None, failed=frozenset()) -> np.ndarray:
    """w_a of SCA-TP / HaDDQN (§7.3, §7.4), (A,): number of requests of A_{t−1} whose UE was in area a in
    frame t−1 (UEs assumed not to move), decided at the end of frame t−1 for frame t.

    info: the FrameInfo of the *previous* frame t−1 (its `active` is A_{t−1}, its `ue_area` is a(·, t−1)), i.e.
    the one returned by env.start_frame(t−1); None before frame 0 (nothing revealed yet) gives zeros.
    failed: the failed requests known at the end of frame t−1 (Feedback.failed of frame t−1); they are left out,
    since failed requests are ignored from the frame after their failure (§7.0 "Active set") and the weights
    serve frame t. The default (none) counts A_{t−1} literally.
    """
    w = np.zeros(static.A)
    if info is None:
        return w
    for q in info.active:
        if q.r not in failed:
            w[int(info.ue_area[q.ue])] += 1.0
    return w


def rsu_areas(static) -> np.ndarray:
    """rsu_a (A,) float: 1 if an RSU is located in area a."""
    rsu = np.zeros(static.A)
    rsu[np.asarray(static.node_area[static.n_core:static.n_core + static.n_rsu], dtype=np.int64)] = 1.0
    return rsu


def hungarian_uav_areas(static, current_area, weights) -> np.ndarray:
    """§7.4 UAV areas of frame t, (N_u,) int: gain_a = w_a if no RSU in a else 0; cost C[n,a] =
    α Λ_n(area^{t−1}_n, a) − gain_a; distinct areas by linear_sum_assignment; a UAV whose assigned area has
    gain 0 and differs from its current area stays (so does a UAV left unassigned when N_u > |𝒜|)."""
    from scipy.optimize import linear_sum_assignment

    current = np.asarray(current_area, dtype=np.int64)
    gain = np.where(rsu_areas(static) > 0, 0.0, np.asarray(weights, dtype=float))
    cost = static.alpha * static.move_energy[np.arange(static.n_uav), current, :] - gain[None, :]
    out = current.copy()
    rows, cols = linear_sum_assignment(cost)
    for j, a in zip(rows, cols):
        if not (gain[a] == 0.0 and a != current[j]):
            out[j] = a
    return out


def hungarian_blocks(static, info: FrameInfo, poa: dict, success_rate: float) -> dict[tuple[int, int], int]:
    """§7.4 RB allocation of frame info.t, per UE area: block length b_r = b(Ť_r, p̄) (E17); repeat the
    assignment of the still-blockless requests (rows, increasing r) to channels (columns) with cost b_r·M̄_c
    when channel c has ≥ b_r free slots in the area, else 10⁹; each matched finite pair gets the first b_r
    free slots of c; stop when no finite pair is matched. Returns {(r, tau): c}."""
    from scipy.optimize import linear_sum_assignment

    K, t, C = static.K, info.t, static.C
    e_chan = np.asarray(static.e_chan, dtype=float)
    by_area: dict[int, list[Request]] = {}
    for q in sorted(info.active, key=lambda q: q.r):
        if q.r in poa:
            by_area.setdefault(int(info.ue_area[q.ue]), []).append(q)
    channels: dict[tuple[int, int], int] = {}
    for a in sorted(by_area):
        free = np.ones((C, K), dtype=bool)
        waiting = list(by_area[a])
        b = {q.r: int(physics.hedged_block_length(q.slots, success_rate, K, BETA_HEDGE)) for q in waiting}
        while waiting:
            n_free = free.sum(axis=1)                                             # (C,)
            need = np.array([b[q.r] for q in waiting])                            # (rows,)
            cost = np.where(n_free[None, :] >= need[:, None], need[:, None] * e_chan[None, :], INFEASIBLE_COST)
            rows, cols = linear_sum_assignment(cost)
            matched = [(i, c) for i, c in zip(rows, cols) if cost[i, c] < INFEASIBLE_COST]
            if not matched:
                break
            for i, c in matched:
                q = waiting[i]
                for k in np.flatnonzero(free[c])[:b[q.r]]:
                    channels[(q.r, t * K + int(k))] = int(c)
                    free[c, k] = False
            done = {waiting[i].r for i, _ in matched}
            waiting = [q for q in waiting if q.r not in done]
    return channels
