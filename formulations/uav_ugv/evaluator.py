"""The evaluator (§6): the only place `uav-ugv` metrics are computed. A plan is scored slot by slot with E13–E22;
omitted α, x are filled with E27–E28; supplied α is repaired for service (D29); hard checks mark it infeasible."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optkit.errors import InputError
from optkit.evaluation import Evaluation, MetricSpec
from optkit.formulations.uav_ugv import association as assoc
from optkit.formulations.uav_ugv import channel

TOL_M = 1e-6

METRICS = (
    MetricSpec("objective", "Mbit/s", "higher", "J (E21): time-averaged sum rate minus w times the QoS shortfall"),
    MetricSpec("sum_rate_mbps", "Mbit/s", "higher", "R̄ (E19): time-averaged outage-aware sum rate"),
    MetricSpec("episode_return", "Mbit/s·slot", "higher", "Σ_n r[n] (E22, without collision term or scale)"),
    MetricSpec("merit", "Mbit/s", "higher", "J − (w_c/N)·V5, the SCA/BCD merit (D38)"),
    MetricSpec("qos_satisfaction", "fraction", "higher", "share of user-slots with R_k ≥ R_min"),
    MetricSpec("qos_all_slots", "fraction", "higher", "share of slots where every user meets R_min"),
    MetricSpec("qos_shortfall_mbps", "Mbit/s", "lower", "(1/N) Σ_n Σ_k Ξ_k[n]"),
    MetricSpec("min_user_rate_mbps", "Mbit/s", "higher", "smallest user rate over users and slots"),
    MetricSpec("backhaul_outages", "UAV-slots", "lower", "C1 outages O = Σ o_u[n]"),
    MetricSpec("safety_violations", "pair-slots", "lower", "C5 violations V5 (pairs closer than d_safe)"),
    MetricSpec("unserved_user_slots", "user-slots", "lower", "users without service (only in all-outage slots)"),
    MetricSpec("assoc_repairs", "user-slots", "none", "service repairs applied to a supplied α (D29)"),
    MetricSpec("hard_violations", "count", "lower", "failed hard checks (C3, C4, C6-C10, C12, C13)"),
    MetricSpec("mean_altitude_m", "m", "none", "(1/(UN)) Σ z_u[n]"),
    MetricSpec("altitude_range_m", "m", "none", "mean over UAVs of max_n z − min_n z (n = 1..N)"),
    MetricSpec("uav_path_km", "km", "none", "total 3-D distance flown"),
    MetricSpec("ugv_path_km", "km", "none", "total road distance driven"),
    MetricSpec("min_cell_size", "users", "none", "smallest non-empty cell over UAVs and slots"),
    MetricSpec("sum_rate_mbps_e28", "Mbit/s", "higher", "sum_rate_mbps with α recomputed by E28 (D45)"),
    MetricSpec("objective_e28", "Mbit/s", "higher", "objective with α recomputed by E28 (D45)"),
    MetricSpec("qos_satisfaction_e28", "fraction", "higher", "qos_satisfaction with α recomputed by E28 (D45)"),
    MetricSpec("fraction_of_opt", "fraction", "higher", "J / J_ref (NaN without a reference or when J_ref ≤ 0)"),
    MetricSpec("gap_to_opt", "Mbit/s", "lower", "J_ref − J (NaN without a reference)"),
)


@dataclass
class Plan:
    """Decisions of a `uav-ugv` method (§6.1).

    q: (U, N+1, 3) UAV positions, m; ugv_wp: (M, N+1) UGV waypoint ids; alpha: optional (N, U, K) bool user
    association of slots 1..N; x: optional (N, M, U) bool backhaul association. Omitted α, x are filled by
    E27–E28 when scored.
    """

    q: np.ndarray
    ugv_wp: np.ndarray
    alpha: np.ndarray | None = None
    x: np.ndarray | None = None

    def to_jsonable(self) -> dict:
        out = {"q": np.asarray(self.q, dtype=float).tolist(), "ugv_wp": np.asarray(self.ugv_wp).astype(int).tolist()}
        if self.alpha is not None:
            out["alpha"] = np.asarray(self.alpha).astype(int).tolist()
        if self.x is not None:
            out["x"] = np.asarray(self.x).astype(int).tolist()
        return out

    @classmethod
    def from_jsonable(cls, data: dict) -> "Plan":
        if not isinstance(data, dict) or "q" not in data or "ugv_wp" not in data:
            raise InputError("plan: expected an object with 'q' and 'ugv_wp' (optional 'alpha', 'x')")
        return cls(q=np.asarray(data["q"], dtype=float), ugv_wp=np.asarray(data["ugv_wp"], dtype=np.int64),
                   alpha=None if data.get("alpha") is None else np.asarray(data["alpha"], dtype=bool),
                   x=None if data.get("x") is None else np.asarray(data["x"], dtype=bool))


def check_plan_shapes(inst, plan: Plan) -> Plan:
    """The plan with arrays in their dtypes; InputError naming the array and the expected shape otherwise (§6.5)."""
    if not isinstance(plan, Plan):
        raise InputError(f"plan: expected a uav-ugv Plan, got {type(plan).__name__}")
    U, M, K, N = inst.n_uavs, inst.n_ugvs, inst.n_users, inst.n_slots
    q = np.asarray(plan.q)
    if q.shape != (U, N + 1, 3) or not np.issubdtype(q.dtype, np.number):
        raise InputError(f"plan.q: expected a float array of shape {(U, N + 1, 3)}, got {q.shape}")
    if not np.all(np.isfinite(q)):
        raise InputError("plan.q: positions must be finite")
    w = np.asarray(plan.ugv_wp)
    if w.shape != (M, N + 1) or not np.issubdtype(w.dtype, np.integer):
        raise InputError(f"plan.ugv_wp: expected an integer array of shape {(M, N + 1)}, got {w.shape} {w.dtype}")
    if w.size and (w.min() < 0 or w.max() >= inst.n_waypoints):
        raise InputError(f"plan.ugv_wp: waypoint ids must lie in [0, {inst.n_waypoints})")
    alpha = x = None
    if plan.alpha is not None:
        alpha = np.asarray(plan.alpha)
        if alpha.shape != (N, U, K) or alpha.dtype != bool:
            raise InputError(f"plan.alpha: expected a bool array of shape {(N, U, K)}, got {alpha.shape} {alpha.dtype}")
    if plan.x is not None:
        x = np.asarray(plan.x)
        if x.shape != (N, M, U) or x.dtype != bool:
            raise InputError(f"plan.x: expected a bool array of shape {(N, M, U)}, got {x.shape} {x.dtype}")
    return Plan(q.astype(float), w.astype(np.int64), alpha, x)


# ---------------------------------------------------------------------------------------------- slot quantities
def slot_channels(inst, q: np.ndarray, ugv_wp: np.ndarray):
    """S (N, U, K) W, SE (N, U, K), SNR (N, M, U) of slots 1..N of a plan."""
    qs = np.transpose(q[:, 1:, :], (1, 0, 2))                       # (N, U, 3)
    S = channel.access_power(inst, qs, np.asarray(inst.users))
    SE = channel.spectral_efficiency(inst, S)
    ugv_xy = np.asarray(inst.waypoints)[ugv_wp[:, 1:].T]            # (N, M, 2)
    snr = channel.backhaul_snr(inst, qs, ugv_xy)
    return S, SE, snr


def collisions(inst, q: np.ndarray) -> np.ndarray:
    """V5[n] for slots 1..N: pairs u < u' closer than d_safe, (N,) int."""
    qs = np.transpose(q[:, 1:, :], (1, 0, 2))
    U = qs.shape[1]
    if U < 2:
        return np.zeros(qs.shape[0], dtype=np.int64)
    d = np.linalg.norm(qs[:, :, None, :] - qs[:, None, :, :], axis=-1)
    iu = np.triu_indices(U, 1)
    return (d[:, iu[0], iu[1]] < inst.d_safe).sum(axis=1)


@dataclass
class Scored:
    """Per-slot outcome of a plan: rates (N, K) bit/s, outage (N, U), alpha (N, U, K), x (N, M, U), sizes (N, U),
    repairs, V5 (N,)."""

    rates: np.ndarray
    outage: np.ndarray
    alpha: np.ndarray
    x: np.ndarray
    sizes: np.ndarray
    repairs: int
    v5: np.ndarray

    def rewards(self, inst) -> np.ndarray:
        """r[n] (E22), Mbit/s, (N,)."""
        short = np.maximum(0.0, inst.rate_min_bps - self.rates) * 1e-6
        return self.rates.sum(axis=1) * 1e-6 - inst.qos_weight * short.sum(axis=1)


def score(inst, q, ugv_wp, alpha=None, x=None, channels=None, rule: str = "greedy-ls") -> Scored:
    """Score slots 1..N: x by E27 when omitted; α by E28 (`rule`) when omitted, else repaired (D29)."""
    S, SE, snr = slot_channels(inst, q, ugv_wp) if channels is None else channels
    N, U, K = S.shape
    M = snr.shape[1]
    rates = np.zeros((N, K))
    out = np.zeros((N, U), dtype=bool)
    A = np.zeros((N, U, K), dtype=bool)
    X = np.zeros((N, M, U), dtype=bool)
    sizes = np.zeros((N, U), dtype=np.int64)
    repairs = 0
    for n in range(N):
        xn = assoc.hungarian_x(inst, snr[n]) if x is None else np.asarray(x[n], dtype=bool)
        on = assoc.outages(inst, snr[n], xn)
        eligible = ~on
        if alpha is None:
            serve = assoc.greedy_ls(inst, S[n], SE[n], eligible)
            an = assoc.serve_to_alpha(serve, U)
        else:
            an = np.asarray(alpha[n], dtype=bool) & eligible[:, None]
            lost = ~an.any(axis=0)
            if eligible.any() and lost.any():
                an = an.copy()
                pick = assoc.max_power(S[n][:, lost], eligible)
                an[pick, np.nonzero(lost)[0]] = True
                repairs += int(lost.sum())
        cell = an.sum(axis=1)
        band = assoc.band_per_user(inst, cell)
        rates[n] = (an * band[:, None] * SE[n]).sum(axis=0)
        out[n], A[n], X[n], sizes[n] = on, an, xn, cell
    return Scored(rates, out, A, X, sizes, repairs, collisions(inst, q))


# ---------------------------------------------------------------------------------------------- hard checks
def hard_checks(inst, plan: Plan) -> dict[str, float]:
    """Failed hard checks (§6.2) with amounts; empty when the plan is feasible."""
    q, w = plan.q, plan.ugv_wp
    home = np.asarray(inst.uav_home)
    v = {}
    c4 = max(np.abs(q[:, 0] - home).max(), np.abs(q[:, -1] - home).max())
    if c4 > TOL_M:
        v["C4_uav_return_m"] = float(c4)
    step = np.linalg.norm(np.diff(q, axis=1), axis=-1)
    c3 = step.max(initial=0.0) - inst.horizontal_step
    if c3 > TOL_M:
        v["C3_uav_speed_m"] = float(c3)
    lo = np.array([0.0, 0.0, inst.uav_zmin])
    hi = np.array([inst.area_x, inst.area_y, inst.uav_zmax])
    box = max(float((lo - q).max()), float((q - hi).max()))
    if box > TOL_M:
        v["C12_C13_box_m"] = box
    hm = np.asarray(inst.ugv_home)
    c8 = int((w[:, 0] != hm).sum() + (w[:, -1] != hm).sum())
    if c8:
        v["C8_ugv_return"] = float(c8)
    if w.shape[1] > 1:
        ok = np.asarray(inst.reach_matrix[w[:, :-1].ravel(), w[:, 1:].ravel()]).ravel()
        if not ok.all():
            v["C6_C7_ugv_reach"] = float((~ok).sum())
    if plan.alpha is not None:
        c9 = int((plan.alpha.sum(axis=1) > 1).sum())
        if c9:
            v["C9_user_single_uav"] = float(c9)
    if plan.x is not None:
        c10 = int((plan.x.sum(axis=1) > 1).sum() + (plan.x.sum(axis=2) > 1).sum())
        if c10:
            v["C10_backhaul_one_to_one"] = float(c10)
    return v


def road_distance_km(inst, w: np.ndarray) -> float:
    """Road distance driven along consecutive waypoints (shortest road paths), km."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    pairs = [(a, b) for row in w for a, b in zip(row[:-1], row[1:]) if a != b]
    if not pairs:
        return 0.0
    arcs = np.asarray(inst.arcs)
    Wn = inst.n_waypoints
    s, d = arcs[:, 0].astype(int), arcs[:, 1].astype(int)
    g = csr_matrix((np.concatenate([arcs[:, 2], arcs[:, 2]]), (np.concatenate([s, d]), np.concatenate([d, s]))),
                   shape=(Wn, Wn))
    src = np.unique([a for a, _ in pairs])
    dist = dijkstra(g, directed=False, indices=src)
    row = {int(a): i for i, a in enumerate(src)}
    return float(sum(dist[row[int(a)], int(b)] for a, b in pairs)) / 1000.0


# ---------------------------------------------------------------------------------------------- metrics
def metrics_of(inst, scored: Scored) -> dict[str, float]:
    N, K = scored.rates.shape
    rewards = scored.rewards(inst)
    short = np.maximum(0.0, inst.rate_min_bps - scored.rates) * 1e-6
    meets = scored.rates >= inst.rate_min_bps * (1.0 - 1e-12)
    J = float(rewards.mean()) if N else 0.0
    nonempty = scored.sizes[scored.sizes > 0]
    return {
        "objective": J,
        "sum_rate_mbps": float(scored.rates.sum(axis=1).mean() * 1e-6) if N else 0.0,
        "episode_return": float(rewards.sum()),
        "merit": J - inst.collision_weight * float(scored.v5.sum()) / max(N, 1),
        "qos_satisfaction": float(meets.mean()) if meets.size else 1.0,
        "qos_all_slots": float(meets.all(axis=1).mean()) if N else 1.0,
        "qos_shortfall_mbps": float(short.sum(axis=1).mean()) if N else 0.0,
        "min_user_rate_mbps": float(scored.rates.min() * 1e-6) if scored.rates.size else 0.0,
        "backhaul_outages": float(scored.outage.sum()),
        "safety_violations": float(scored.v5.sum()),
        "unserved_user_slots": float((~scored.alpha.any(axis=1)).sum()),
        "assoc_repairs": float(scored.repairs),
        "min_cell_size": float(nonempty.min()) if nonempty.size else 0.0,
    }


def evaluate(inst, solution) -> Evaluation:
    """Score a Solution whose decisions are a Plan (§6)."""
    plan = check_plan_shapes(inst, solution.decisions if hasattr(solution, "decisions") else solution)
    violations = hard_checks(inst, plan)
    channels = slot_channels(inst, plan.q, plan.ugv_wp)
    scored = score(inst, plan.q, plan.ugv_wp, plan.alpha, plan.x, channels=channels)
    metrics = metrics_of(inst, scored)
    if plan.alpha is None:
        common = metrics
    else:
        common = metrics_of(inst, score(inst, plan.q, plan.ugv_wp, None, plan.x, channels=channels))
    metrics.update({
        "sum_rate_mbps_e28": common["sum_rate_mbps"], "objective_e28": common["objective"],
        "qos_satisfaction_e28": common["qos_satisfaction"],
        "hard_violations": float(len(violations)),
        "mean_altitude_m": float(plan.q[:, 1:, 2].mean()) if inst.n_slots else float(plan.q[:, 0, 2].mean()),
        "altitude_range_m": float((plan.q[:, 1:, 2].max(axis=1) - plan.q[:, 1:, 2].min(axis=1)).mean()),
        "uav_path_km": float(np.linalg.norm(np.diff(plan.q, axis=1), axis=-1).sum() / 1000.0),
        "ugv_path_km": road_distance_km(inst, plan.ugv_wp),
        "fraction_of_opt": math.nan, "gap_to_opt": math.nan,
    })
    return Evaluation(metrics=metrics, feasible=not violations, violations=violations,
                      details={"rewards": scored.rewards(inst).tolist()})


def with_reference(evaluation: Evaluation, reference: Evaluation) -> None:
    """fraction_of_opt = J / J_ref (when J_ref > 0 and the plan is feasible), gap_to_opt = J_ref − J (§6.3)."""
    J, J_ref = evaluation.metrics["objective"], reference.metrics["objective"]
    evaluation.metrics["gap_to_opt"] = float(J_ref - J)
    evaluation.metrics["fraction_of_opt"] = float(J / J_ref) if J_ref > 0 and evaluation.feasible else math.nan
