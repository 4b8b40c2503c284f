"""Method `random` of the allocate family (§7.5), run through the online environment (§6.2).

Section (§), equation (E) and decision (D) numbers refer to docs/families/allocate.md.
"""
from __future__ import annotations

import time

import numpy as np

from optkit.formulations.allocate.env import OnlineEnv
from optkit.formulations.allocate.network import candidate_routes
from optkit.formulations.allocate.record import ServiceEntry
from optkit.seeds import method_stream
from optkit.solution import Solution, Status

METHOD_ID = "random"
CHANNEL_ATTEMPTS = 10


def _uav_moves(rng, static, current: np.ndarray) -> np.ndarray:
    """Each UAV moves to a uniform area among its current one and those at Chebyshev distance 1."""
    return np.array([rng.choice(np.flatnonzero(static.cheb[a] <= 1)) for a in current], dtype=np.int64)


def _frame_decisions(rng, static, info):
    K = static.K
    t = info.t
    poa = {}
    for q in info.active:
        a = info.ue_area[q.ue]
        options = [n for n in range(static.n_core, static.N) if info.node_area[n] == a]
        if options:
            poa[q.r] = int(rng.choice(options))
    # channels: random contiguous blocks of Ť_r slots, free in the area
    busy = set()      # (area, c, slot)
    channels = {}
    with_blocks = []
    for q in [info.active[i] for i in rng.permutation(len(info.active))]:
        if q.r not in poa:
            continue
        a = info.ue_area[q.ue]
        for _ in range(CHANNEL_ATTEMPTS):
            c = int(rng.integers(static.C))
            k = int(rng.integers(0, K - q.slots + 1))
            slots = range(t * K + k, t * K + k + q.slots)
            if all((a, c, s) not in busy for s in slots):
                for s in slots:
                    busy.add((a, c, s))
                    channels[(q.r, s)] = c
                with_blocks.append(q)
                break
    # placement and routing
    remaining_cap = np.array(static.cap, dtype=float)
    remaining_bw = {}
    placement = set()
    service = {}
    graph = info.graph
    for q in [with_blocks[i] for i in rng.permutation(len(with_blocks))]:
        routes = candidate_routes(graph, poa[q.r])
        route = routes[int(rng.integers(len(routes)))]
        links = [graph.edges[u, v]["l"] for u, v in zip(route[:-1], route[1:])]
        hosts, reserved = {}, np.zeros(static.N)
        for f, demand in zip(q.funcs, q.demand):
            fits = [n for n in route if remaining_cap[n] - reserved[n] >= demand]
            if not fits:
                break
            n = int(rng.choice(fits))
            hosts[f] = n
            reserved[n] += demand
            placement.add((f, n))           # deployed instances stay even if the request is released
        bw_ok = all(remaining_bw.get(l, static.link_cap[l]) >= q.bw for l in links)
        if len(hosts) == len(q.funcs) and bw_ok:
            remaining_cap -= reserved
            for l in links:
                remaining_bw[l] = remaining_bw.get(l, static.link_cap[l]) - q.bw
            service[q.r] = ServiceEntry(tuple(route), hosts)
    return poa, channels, placement, service


def solve(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """Run the random baseline online; decisions only (the evaluator scores them)."""
    start = time.perf_counter()
    rng = method_stream(inst.seed, METHOD_ID, seed)
    env = OnlineEnv(inst)
    static = env.static
    area = env.initial_uav_area
    for t in range(inst.T):
        area = _uav_moves(rng, static, area)
        env.commit_uav_areas(t, area)
        info = env.start_frame(t)
        env.commit_frame(t, *_frame_decisions(rng, static, info))
    return Solution(family="allocate", method=METHOD_ID, status=Status.FEASIBLE, decisions=env.decisions,
                    runtime_s=time.perf_counter() - start, info={"method_seed": seed})
