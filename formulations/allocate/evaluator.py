"""The allocate evaluator (§6.3, §6.4): the only place where metrics are computed.

`score_frame` scores one frame from that frame's decisions; the offline evaluator and the online
environment (§6.2) both call it, so they are one model.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from optkit.evaluation import Evaluation, MetricSpec
from optkit.formulations.allocate.network import frame_adjacency, node_areas, path_links
from optkit.formulations.allocate.record import Decisions

METRICS = [
    MetricSpec("accepted", "requests", "higher", "accepted requests n_acc (served in every active frame)"),
    MetricSpec("acc_pct", "%", "higher", "100 n_acc / R"),
    MetricSpec("e_node", "eu", "lower", "function deployment energy"),
    MetricSpec("e_uav", "eu", "lower", "UAV movement energy"),
    MetricSpec("e_link", "eu", "lower", "link transmission energy"),
    MetricSpec("e_chan", "eu", "lower", "channel (resource block) energy"),
    MetricSpec("energy_total", "eu", "lower", "total energy W (E13)"),
    MetricSpec("energy_per_request", "eu/request", "lower", "W / R"),
    MetricSpec("energy_per_accepted", "eu/request", "lower", "W / max(1, n_acc)"),
    MetricSpec("latency_ms", "ms", "lower", "mean route latency over requests with a valid route"),
    MetricSpec("latency_acc_ms", "ms", "lower", "mean route latency over accepted requests"),
    MetricSpec("objective", "-", "higher", "n_acc - alpha W"),
    MetricSpec("efficiency", "1/eu", "higher", "n_acc / W (0 when nothing is accepted)"),
    MetricSpec("frac_opt", "-", "higher", "efficiency / efficiency of the exact reference on the same instance"),
    MetricSpec("frac_opt_of", "-", "higher", "objective / objective of the exact reference on the same instance"),
    MetricSpec("runtime_s", "s", "lower", "decision wall-clock for the episode (training excluded)"),
    MetricSpec("runtime_frame_ms", "ms", "lower", "runtime_s * 1000 / T"),
    MetricSpec("uav_hops", "moves", "none", "number of (UAV, frame) with an area change"),
    MetricSpec("viol_poa", "count", "lower", "PoA entries not located in the UE's area"),
    MetricSpec("viol_collision", "count", "lower", "resource blocks (c, a, slot) with colliding transmissions"),
    MetricSpec("viol_route", "count", "lower", "service entries with an invalid route, latency or host"),
    MetricSpec("viol_capacity", "count", "lower", "service entries rejected by node or link capacity"),
]
METRIC_IDS = [m.id for m in METRICS]
VIOLATIONS = ("viol_poa", "viol_collision", "viol_route", "viol_capacity")


@dataclass
class FrameScore:
    """What frame t contributes: energies (eu), served requests, good slots, route latencies, violations."""

    e_uav: float = 0.0
    e_chan: float = 0.0
    e_node: float = 0.0
    e_link: float = 0.0
    hops: int = 0                                      # UAVs whose area changed
    served: set = field(default_factory=set)
    good_slots: dict = field(default_factory=dict)
    route_lat: dict = field(default_factory=dict)      # r -> D_p of a valid route (step 5)
    node_load: np.ndarray | None = None                # (N,) Mbps admitted
    link_load: np.ndarray | None = None                # (L,) Mbps admitted
    viol: Counter = field(default_factory=Counter)


def score_frame(inst, t: int, prev_area, area, poa: dict, channels: dict, placement: set, service: dict) -> FrameScore:
    """Steps 1-7 of §6.3 for frame t.

    prev_area, area: (N_u,) UAV areas of frames t-1 (initial areas for t = 0) and t.
    poa: {r: node}; channels: {(r, tau): c} for slots tau of frame t; placement: {(f, n)}; service: {r: ServiceEntry}.
    """
    score = FrameScore(node_load=np.zeros(inst.N), link_load=np.zeros(inst.L))
    prev_area, area = np.asarray(prev_area), np.asarray(area)
    # 1. UAV movement energy (E5)
    for j in range(inst.n_uav):
        score.e_uav += float(inst.move_energy[j, prev_area[j], area[j]])
    score.hops = int(np.sum(prev_area != area))
    located = node_areas(inst, area)
    # 2. PoA validity
    valid_poa = {}
    for r, n in poa.items():
        if inst.node_type(n) != "core" and located[n] == inst.area(r, t):
            valid_poa[r] = n
        else:
            score.viol["viol_poa"] += 1
    # 3. channels: every entry is charged and transmits in its UE's area (D24); collisions destroy all
    block_users = Counter()
    for (r, tau), c in channels.items():
        score.e_chan += float(inst.e_chan[c])
        block_users[(c, inst.area(r, t), tau)] += 1
    score.viol["viol_collision"] += sum(1 for k in block_users.values() if k > 1)
    for (r, tau), c in channels.items():
        a = inst.area(r, t)
        if r in valid_poa and inst.Q[c, a, tau] == 1 and block_users[(c, a, tau)] == 1:
            score.good_slots[r] = score.good_slots.get(r, 0) + 1   # E14
    # 4. placement energy
    score.e_node = float(sum(inst.e_node[n] for _, n in placement))
    # 5. route checks: a simple path of G^t from the valid PoA, D_p <= Ď_r, every f hosted on the route (E15)
    adjacency = frame_adjacency(inst, area)
    passed = []
    for r in sorted(service):
        entry = service[r]
        route = tuple(entry.route)
        links = path_links(adjacency, route) if len(set(route)) == len(route) else None
        if r not in valid_poa or route[0] != valid_poa[r] or links is None:
            score.viol["viol_route"] += 1
            continue
        score.e_link += float(sum(inst.link_energy[l] for l in links))
        d_p = float(sum(inst.link_lat[l] for l in links))
        score.route_lat[r] = d_p
        hosts_ok = all(entry.hosts.get(f) in route and (f, entry.hosts.get(f)) in placement for f in inst.funcs(r))
        if d_p > inst.req_latency[r] or not hosts_ok:
            score.viol["viol_route"] += 1
            continue
        if t in inst.active_frames(r):
            passed.append((r, entry, links))
    # 6. capacity, first fit in increasing r; served(r, t) needs G^t_r >= Ť_r as well (E15)
    for r, entry, links in passed:
        if score.good_slots.get(r, 0) < inst.req_slots[r]:
            continue
        load = np.zeros(inst.N)
        for f, demand in zip(inst.funcs(r), inst.req_demand[r]):
            load[entry.hosts[f]] += demand
        fits_nodes = np.all(score.node_load + load <= inst.cap + 1e-9)
        fits_links = all(score.link_load[l] + inst.req_bw[r] <= inst.link_cap[l] + 1e-9 for l in links)
        if fits_nodes and fits_links:
            score.node_load += load
            score.link_load[list(links)] += inst.req_bw[r]
            score.served.add(r)                          # 7. served(r, t) (E15)
        else:
            score.viol["viol_capacity"] += 1
    return score


def split_frame(decisions: Decisions, inst, t: int):
    """The decisions of frame t in the form score_frame takes."""
    slots = range(t * inst.K, (t + 1) * inst.K)
    poa = {r: n for (r, tt), n in decisions.poa.items() if tt == t}
    channels = {(r, tau): c for (r, tau), c in decisions.channels.items() if tau in slots}
    service = {r: e for (r, tt), e in decisions.service.items() if tt == t}
    return poa, channels, set(decisions.placement[t]), service


def summarize(inst, frames: list[FrameScore], runtime_s: float) -> Evaluation:
    """Metrics of §6.4 from the per-frame scores of a whole episode."""
    R = inst.R
    accepted = [r for r in range(R) if all(r in frames[t].served for t in inst.active_frames(r))]   # E15: X_r
    energy = {k: float(sum(getattr(f, k) for f in frames)) for k in ("e_node", "e_uav", "e_link", "e_chan")}
    total = sum(energy.values())                                     # W̄ (E13)
    n_acc = len(accepted)
    lat_by_request = {}
    for t, f in enumerate(frames):
        for r, d in f.route_lat.items():
            lat_by_request.setdefault(r, []).append(d)
    mean_lat = {r: float(np.mean(v)) for r, v in lat_by_request.items()}
    nan = float("nan")
    viol = Counter()
    for f in frames:
        viol.update(f.viol)
    objective = n_acc - inst.alpha * total
    metrics = {
        "accepted": float(n_acc),
        "acc_pct": 100.0 * n_acc / R if R else 0.0,
        **energy,
        "energy_total": total,
        "energy_per_request": total / R if R else 0.0,
        "energy_per_accepted": total / max(1, n_acc),
        "latency_ms": float(np.mean(list(mean_lat.values()))) if mean_lat else nan,
        "latency_acc_ms": float(np.mean([mean_lat[r] for r in accepted])) if accepted else nan,
        "objective": objective,
        "efficiency": n_acc / total if n_acc and total > 0 else 0.0,
        "frac_opt": nan,
        "frac_opt_of": nan,
        "runtime_s": float(runtime_s),
        "runtime_frame_ms": float(runtime_s) * 1000.0 / inst.T,
        "uav_hops": float(sum(f.hops for f in frames)),
        **{k: float(viol.get(k, 0)) for k in VIOLATIONS},
    }
    violations = {k: float(viol[k]) for k in VIOLATIONS if viol.get(k, 0)}
    return Evaluation(metrics=metrics, feasible=not violations, violations=violations,
                      details={"accepted_requests": accepted,
                               "served": [sorted(f.served) for f in frames]})


def evaluate_decisions(inst, decisions: Decisions, runtime_s: float = 0.0) -> Evaluation:
    """Score a full-horizon record (§6.3) and return every metric of §6.4."""
    decisions.check_shapes(inst)
    area = np.asarray(decisions.uav_area)
    prev = np.asarray(inst.node_area[inst.n_core + inst.n_rsu:])
    frames = []
    for t in range(inst.T):
        frames.append(score_frame(inst, t, prev, area[t], *split_frame(decisions, inst, t)))
        prev = area[t]
    return summarize(inst, frames, runtime_s)


def evaluate(inst, solution) -> Evaluation:
    """Evaluator contract: score a Solution of the allocate family."""
    return evaluate_decisions(inst, solution.decisions, solution.runtime_s)


def with_reference(evaluation: Evaluation, reference: Evaluation) -> Evaluation:
    """Fill frac_opt (efficiency ratio) and frac_opt_of (objective ratio) against the exact reference (§6.4)."""
    m, ref = evaluation.metrics, reference.metrics
    m["frac_opt"] = m["efficiency"] / ref["efficiency"] if ref["accepted"] > 0 and ref["efficiency"] > 0 else float("nan")
    m["frac_opt_of"] = m["objective"] / ref["objective"] if ref["objective"] > 0 else float("nan")
    return evaluation
