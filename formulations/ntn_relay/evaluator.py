"""The one judge of `ntn-relay` (§6): associations and accelerations in, metrics out.

Decisions (§6.1): assoc1, assoc2 (N, K) int64 global SAT indices of lane 1 / lane 2 (−1 = none; ignored for a lane
the template lacks), accel (N, K, 2) float commanded accelerations in m/s² (ignored without UAVs). The evaluator
re-simulates E5, computes every hop (E7–E16), energy (E6), the reward terms (E23/E24) and the metrics of §6.3.
Per-path and per-hop values, the time series, the trajectory and the snapshots are in `Evaluation.details`.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from optkit.evaluation import Evaluation, MetricSpec
from optkit.formulations.ntn_relay import model as M

METRICS = (
    MetricSpec("objective", "kbit/J or Mbit/s", "higher", "P1 objective: EE (kbit/J) with UAV relays; the P2 "
               "objective (sum throughput, Mbit/s) otherwise"),
    MetricSpec("ee_kbit_per_j", "kbit/J", "higher", "energy efficiency R_tot / E_tot (E20); NaN without UAVs"),
    MetricSpec("sum_tput_mbps", "Mbit/s", "higher", "time-average end-to-end sum rate"),
    MetricSpec("avg_uav_power_w", "W", "lower", "E_tot / (K N δt); 0 without UAVs"),
    MetricSpec("peak_tput_mbps", "Mbit/s", "higher", "max_n R[n]"),
    MetricSpec("worst_tput_mbps", "Mbit/s", "higher", "min_n R[n]"),
    MetricSpec("p5_tput_mbps", "Mbit/s", "higher", "5th percentile of R[n] (D46)"),
    MetricSpec("lost_link_tput_mbps", "Mbit/s", "higher", "mean of R[n] − max_k R_k[n] (slot-wise, D45)"),
    MetricSpec("lost_uav_tput_mbps", "Mbit/s", "higher", "min_k of the path throughputs (episode-wise, D45)"),
    MetricSpec("jain_index", "1", "higher", "Jain index of the path throughputs"),
    MetricSpec("fso_ratio_pct", "%", "none", "share of FSO among all hops and slots (per hop in details)"),
    MetricSpec("handovers", "count", "lower", "handovers summed over paths and lanes (per path and lane in details)"),
    MetricSpec("overlap_slots", "count", "lower", "slots where some SAT serves >= 2 paths"),
    MetricSpec("mean_speed_mps", "m/s", "none", "mean UAV speed over slots and UAVs"),
    MetricSpec("episode_reward", "1", "higher", "Σ_n r[n] (E23 / E24 per reward_mode); NaN where unavailable"),
    MetricSpec("reward_throughput", "1", "none", "episode sum of the throughput term of E23/E24"),
    MetricSpec("reward_energy", "1", "none", "episode sum of the energy term (aerodynamic + terminal kinetic)"),
    MetricSpec("reward_distance", "1", "none", "episode sum of the distance penalty"),
    MetricSpec("ub_ratio", "1", "none", "mean R^UB / mean R_SG of the instance (bound at V_max, 10 km grid; D37)"),
    MetricSpec("frac_of_ub", "1", "higher", "EE / EE_UB (10 km grid bound, §8)"),
    MetricSpec("frac_of_ref", "1", "higher", "objective / objective of the reference run (filled with a reference)"),
    MetricSpec("n_dist_violations", "count", "lower", "slots with D[n] > D_max"),
    MetricSpec("n_speed_clips", "count", "none", "E5 speed rescalings"),
    MetricSpec("n_area_clips", "count", "lower", "E5 area clips"),
    MetricSpec("n_out_of_candidates", "count", "lower", "associations outside the candidate set"),
    MetricSpec("continuous_actions", "1", "none", "1 when some acceleration is not in the discrete set 𝒜"),
)
METRIC_IDS = tuple(m.id for m in METRICS)
LANES = 2


@dataclass
class Decisions:
    """assoc1, assoc2 (N, K) int64 global SAT indices (−1 = none); accel (N, K, 2) m/s²."""

    assoc1: np.ndarray
    assoc2: np.ndarray
    accel: np.ndarray

    def to_jsonable(self) -> dict:
        return {"assoc1": np.asarray(self.assoc1, dtype=np.int64).tolist(),
                "assoc2": np.asarray(self.assoc2, dtype=np.int64).tolist(),
                "accel": np.asarray(self.accel, dtype=float).tolist()}

    @classmethod
    def from_jsonable(cls, data: dict) -> "Decisions":
        return cls(np.asarray(data["assoc1"], dtype=np.int64), np.asarray(data["assoc2"], dtype=np.int64),
                   np.asarray(data["accel"], dtype=float).reshape(len(data["accel"]), -1, 2))


def decisions_of(w: M.World, assoc1, assoc2, accel=None) -> Decisions:
    """A Decisions record with the right shapes (zero accelerations when None)."""
    accel = np.zeros((w.N, w.K, 2)) if accel is None else np.asarray(accel, dtype=float)
    return Decisions(np.asarray(assoc1, dtype=np.int64).reshape(w.N, w.K),
                     np.asarray(assoc2, dtype=np.int64).reshape(w.N, w.K), accel.reshape(w.N, w.K, 2))


def _nan_metrics() -> dict:
    return {m: float("nan") for m in METRIC_IDS}


def reward_terms(w: M.World, R, Rk, e_aero, dist, dke: float) -> dict:
    """Per-slot reward terms of E23/E24 (arrays (N,)) and the reward r[n]; NaN where unavailable (E22, D48)."""
    inst = w.inst
    mu_r, mu_e = w.mu_r(), w.mu_e()
    w_r = 0.0 if inst.reward_mode == "energy" else inst.w_R
    w_e = 0.0 if inst.reward_mode == "rate" else inst.w_E
    if inst.reward_mode == "fair":
        tput = w_r * (w.K * Rk.min(axis=1) - mu_r) / mu_r
    else:
        tput = w_r * (R - mu_r) / mu_r
    energy = w_e * (e_aero - mu_e) / mu_e
    energy = energy.copy()
    energy[-1] += w_e * dke / mu_e
    distance = inst.w_D * np.minimum(1.0, np.maximum(0.0, (dist - w.d_max) / w.d_max))
    return {"throughput": tput, "energy": energy, "distance": distance, "reward": tput - energy - distance}


def evaluate(inst, solution) -> Evaluation:
    """Score one solution (§6.2, §6.3)."""
    w = M.world(inst)
    N, K = w.N, w.K
    dec = solution.decisions if hasattr(solution, "decisions") else solution
    try:
        a1 = np.asarray(dec.assoc1, dtype=np.int64)
        a2 = np.asarray(dec.assoc2, dtype=np.int64)
        acc = np.asarray(dec.accel, dtype=float)
    except (AttributeError, TypeError, ValueError):
        return Evaluation(_nan_metrics(), False, {"decisions": 1.0})
    if a1.shape != (N, K) or a2.shape != (N, K) or acc.shape != (N, K, 2) or not np.all(np.isfinite(acc)):
        return Evaluation(_nan_metrics(), False, {"shape": 1.0})
    hops = w.hops
    uses = ("S1" in hops, "2D" in hops or "12" in hops)
    violations = {}
    I = inst.sats_per_lane
    for lane, (a, used) in enumerate(zip((a1, a2), uses)):
        if used and np.any((a < -1) | (a >= I)):
            violations[f"assoc{lane + 1}_index"] = float(np.count_nonzero((a < -1) | (a >= I)))
    if inst.has_uav:
        norm = np.linalg.norm(acc, axis=-1)
        excess = norm - inst.a_max_mps2 * (1 + 1e-9)
        if np.any(excess > 0):
            violations["accel_norm"] = float(excess.max())
    if violations:
        return Evaluation(_nan_metrics(), False, violations)
    a1 = a1 if uses[0] else np.full((N, K), -1)
    a2 = a2 if uses[1] else np.full((N, K), -1)
    traj = M.simulate(w, acc)
    pts = w.relay_points(traj.q[:-1])
    pr = M.path_rates(w, pts, a1, a2)
    Rk = pr.rate                                                       # (N, K)
    R = Rk.sum(axis=1)
    E, e_aero = M.slot_energy(w, traj)
    dist = M.inter_relay_distance(w, traj.q[:-1]) if inst.has_relay else np.zeros(N)
    dke = float(0.5 * inst.uav_mass_kg * np.sum(np.sum(traj.v[-1] ** 2, axis=-1) - np.sum(traj.v[0] ** 2, axis=-1))) \
        if inst.has_uav else 0.0
    e_tot = float(E.sum())
    r_tot = inst.dt_s * float(R.sum())
    ee = r_tot / e_tot / 1000.0 if inst.has_uav and e_tot > 0 else float("nan")
    path_tput = Rk.mean(axis=0) / 1e6
    out_of_cand = 0
    for lane, (a, used) in enumerate(zip((a1, a2), uses)):
        if used and inst.action_reduction:
            member = (w.cand[lane][:, None, :] == a[:, :, None]).any(axis=-1) | (a < 0)
            out_of_cand += int(np.count_nonzero(~member))
    continuous = 0.0
    if inst.has_uav:
        gap = np.linalg.norm(acc[:, :, None, :] - w.accels[None, None], axis=-1).min(axis=-1)
        continuous = float(np.any(gap > 1e-9))
    handovers = np.zeros((K, LANES), dtype=int)
    for lane, (a, used) in enumerate(zip((a1, a2), uses)):
        if used and N > 1:
            handovers[:, lane] = np.count_nonzero(a[1:] != a[:-1], axis=0)
    both = np.zeros(N, dtype=bool)
    if "S1" in hops:
        both |= (pr.m1 >= 2).any(axis=1)
    if "2D" in hops:
        both |= (pr.m2 >= 2).any(axis=1)
    overlap = int(both.sum())
    if inst.has_relay and inst.has_uav:
        terms = reward_terms(w, R, Rk, e_aero.sum(axis=1), dist, dke)
        reward = {k: float(v.sum()) for k, v in terms.items()}
    else:
        reward = {k: float("nan") for k in ("throughput", "energy", "distance", "reward")}
    ub_ratio = frac_ub = float("nan")
    if inst.has_uav_between_lanes:
        from optkit.formulations.ntn_relay.bounds import cached_bound

        ub = cached_bound(w)
        ub_ratio = float(ub.rate.mean() / w.mu_r())
        frac_ub = ee / ub.ee_kbit_per_j
    n_dist = int(np.count_nonzero(dist > w.d_max)) if K >= 2 and inst.has_relay else 0
    sum_tput = float(R.mean() / 1e6)
    metrics = {
        "objective": ee if inst.has_uav else sum_tput,
        "ee_kbit_per_j": ee,
        "sum_tput_mbps": sum_tput,
        "avg_uav_power_w": e_tot / (K * N * inst.dt_s) if inst.has_uav else 0.0,
        "peak_tput_mbps": float(R.max() / 1e6),
        "worst_tput_mbps": float(R.min() / 1e6),
        "p5_tput_mbps": float(np.percentile(R, 5) / 1e6),
        "lost_link_tput_mbps": float((R - Rk.max(axis=1)).mean() / 1e6),
        "lost_uav_tput_mbps": float(path_tput.min()),
        "jain_index": float(path_tput.sum() ** 2 / (K * np.sum(path_tput ** 2))) if np.any(path_tput > 0) else float("nan"),
        "fso_ratio_pct": float(100.0 * pr.fso[~np.isnan(pr.dist)].mean()) if np.any(~np.isnan(pr.dist)) else float("nan"),
        "handovers": float(handovers.sum()),
        "overlap_slots": float(overlap),
        "mean_speed_mps": float(np.linalg.norm(traj.v[:-1], axis=-1).mean()) if inst.has_uav else 0.0,
        "episode_reward": reward["reward"],
        "reward_throughput": reward["throughput"],
        "reward_energy": reward["energy"],
        "reward_distance": reward["distance"],
        "ub_ratio": ub_ratio,
        "frac_of_ub": frac_ub,
        "frac_of_ref": float("nan"),
        "n_dist_violations": float(n_dist),
        "n_speed_clips": float(traj.speed_clips),
        "n_area_clips": float(traj.area_clips),
        "n_out_of_candidates": float(out_of_cand),
        "continuous_actions": continuous,
    }
    if n_dist:
        violations["inter_uav_distance"] = float(dist.max() - w.d_max)
    snaps = sorted({0, N // 4, N // 2, (3 * N) // 4})
    details = {
        "hops": list(hops),
        "path_tput_mbps": path_tput.tolist(),
        "fso_ratio_pct": (100.0 * pr.fso.mean(axis=0)).tolist(),                    # [k][hop]
        "link_dist_km": _link_distance_stats(pr.dist),
        "handovers": handovers.tolist(),                                          # [k][lane]
        "tput_series_mbps": (R / 1e6).tolist(),
        "path_series_mbps": (Rk / 1e6).T.tolist(),
        "trajectory_km": traj.q.tolist(),
        "snapshots": [{"n": n, "assoc1": a1[n].tolist(), "assoc2": a2[n].tolist(), "q_km": traj.q[n].tolist()}
                      for n in snaps],
        "energy_j": e_tot,
        "bits": r_tot,
    }
    return Evaluation(metrics, n_dist == 0, violations, details)


def with_reference(evaluation: Evaluation, reference: Evaluation) -> Evaluation:
    """frac_of_ref = objective / objective of the reference (NaN when either is undefined)."""
    ref = reference.metrics.get("objective", float("nan"))
    obj = evaluation.metrics.get("objective", float("nan"))
    evaluation.metrics["frac_of_ref"] = obj / ref if math.isfinite(ref) and ref > 0 and math.isfinite(obj) \
        else float("nan")
    return evaluation


def _link_distance_stats(dist: np.ndarray) -> dict:
    """Mean, min and max link distance (km) per (path, hop) over the slots where the link exists, from `dist`
    (N, K, hops) with NaN where it does not; NaN for a link never used, empty lists when no link ever exists."""
    if not np.any(~np.isnan(dist)):
        return {"mean": [], "min": [], "max": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)          # all-NaN columns: links never used -> NaN
        return {"mean": np.nanmean(dist, axis=0).tolist(), "min": np.nanmin(dist, axis=0).tolist(),
                "max": np.nanmax(dist, axis=0).tolist()}
