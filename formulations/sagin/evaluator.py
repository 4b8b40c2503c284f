"""The one judge of `sagin` (§6): recorded rollouts in, metrics out, with the exact rate backend.

Decisions (§6.1): for every test UAV u (the instance's `starts_test`, in order) a rollout of L_u steps:
positions (L_u + 1, 3) m, q(0) first, and serving BSs (L_u,) int64, serving[n−1] = b(n) serving q(n) at t_n
(BS indices of §3.1). Optionally the rollout's direction-projection counts (N_U,) int (E24 step 3) and boundary-
event counts (N_U,) int (E24 step 4, proposals clipped at the airspace box): simulator events that positions alone
cannot reveal (a clipped step on the floor looks like a chord of a path flown at z_min). Mission times come from E26, τ_n = ‖q(n) − q(n−1)‖/V. Planner
paths are converted by `path_to_rollout` (§6.1). A UAV has arrived iff q(L_u) = q_f (within 1e-6 m).

Feasibility (§6.2) is reported, never enforced: `Evaluation.violations` sums, over UAVs, `start` (q(0) ≠ q^0),
`step_length` (steps longer than Δs; the final segment of an arrived UAV may reach max(Δs, arrival radius)),
`direction` (steps with (q(n+1) − q(n))·(q_f − q(n)) ≤ 0), `bounds` (positions outside the airspace),
`invalid_index` (BS index outside 0..B_tot−1, rate 0), `invalid_association` (a satellite unavailable at t_n,
rate 0), `not_arrived` (UAVs) and `qos` (Σ_u max(0, R_req − R̄_u), Mbit/s). `feasible` is True iff none occurs.
Boundary events and direction projections are events, not violations: the simulator's counts when the rollout
reports them (every E24 "out" event, the g^bnd signal of the learners), else the steps shorter than Δs that end on
the box (a proposal leaving the box by less than 1e-6 m is then missed). Converted planner paths report zero:
they are flown inside the box by construction (the `bounds` violation checks it).
Per-UAV values are in `Evaluation.details["uavs"]`; `metrics` holds their means (§6.3).

Common random numbers (§6.4): every rate comes from `radio_model(inst)` (exact backend, never the cached map),
whose fading enters only through the instance's frozen draws Z (E19); buildings, satellites and test starts are
fixed by the seed, so every method is scored on identical rate functions and missions.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optkit.errors import InputError
from optkit.evaluation import Evaluation, MetricSpec
from optkit.formulations.sagin import formulation as F
from optkit.formulations.sagin.mobility import count_switches, step_durations
from optkit.formulations.sagin.radio import link_rates, radio_model

ARRIVAL_TOL = 1e-6          # m: q(L) = q_f within this distance counts as arrived

UAV_METRICS = (
    MetricSpec("rate_mbps", "Mbit/s", "higher", "average link rate R̄ = Σ τ_n R_n / Σ τ_n"),
    MetricSpec("switches", "count", "lower", "link switches N_u (E27)"),
    MetricSpec("qsr", "1", "higher", "QoS satisfaction ratio Σ τ_n 1[R_n ≥ R_req] / Σ τ_n"),
    MetricSpec("qsr_pct", "%", "higher", "QoS satisfaction ratio in percent"),
    MetricSpec("mission_qos", "1", "higher", "share of UAVs with R̄ ≥ R_req (MQ)"),
    MetricSpec("flight_time_s", "s", "lower", "flight time T_u (+ remaining straight-line time if not arrived)"),
    MetricSpec("objective", "1", "higher", "J_u = λ1 R̄ − λ2 N − λ3 T − λ_fail·1[failed] (E30, D49)"),
    MetricSpec("objective_paper", "1", "higher", "J_paper,u = λ1 R̄ − λ2 N − λ3 T (E30 without the failure penalty)"),
    MetricSpec("failed", "1", "lower", "share of UAVs that did not arrive (failures)"),
    MetricSpec("success", "1", "higher", "share of UAVs that arrived at q_f"),
    MetricSpec("over_horizon", "1", "none", "share of UAVs that arrived after more than N_max + 1 steps (converted paths)"),
    MetricSpec("steps", "count", "none", "steps L_u"),
    MetricSpec("direction_projections", "count", "none", "direction projections reported by the rollout"),
    MetricSpec("boundary_events", "count", "lower", "proposals clipped at the airspace box in x, y or at the ceiling "
                                                    "(E24 step 4)"),
    MetricSpec("floor_projections", "count", "none", "proposals below the floor projected onto it (E24 step 4, D47)"),
    MetricSpec("invalid_associations", "count", "lower", "steps served by an unavailable satellite"),
    MetricSpec("direction_violations", "count", "lower", "steps violating the direction rule (6.2-3)"),
    MetricSpec("share_gn", "1", "none", "share of serving time on GN"),
    MetricSpec("share_an", "1", "none", "share of serving time on AN"),
    MetricSpec("share_sn", "1", "none", "share of serving time on SN"),
)
REFERENCE_METRICS = (    # §6.5 against the family reference lattice-dp, per UAV, then means
    MetricSpec("gap_ref", "1", "lower", "mean over UAVs of J*_u − J_u against the reference (§6.5)"),
    MetricSpec("frac_ref", "1", "higher", "mean J_u / J*_u over UAVs with J*_u > 0 (not clipped)"),
    MetricSpec("frac_ref_paper", "1", "higher", "mean J_paper,u / J*_u over UAVs with J*_u > 0 (not clipped)"),
    MetricSpec("rate_ratio_ref", "1", "higher", "mean R̄_u / R̄*_u"),
    MetricSpec("time_ratio_ref", "1", "higher", "mean T*_u / T_u"),
    MetricSpec("ref_is_lattice_value", "1", "none", "1: J* is the DP lattice value J*_L (segment gains); 0: J_eval"),
)
METRICS = UAV_METRICS + (MetricSpec("n_uavs", "count", "none", "test UAVs scored"),) + REFERENCE_METRICS
VIOLATIONS = ("start", "step_length", "direction", "bounds", "invalid_index", "invalid_association",
              "not_arrived", "qos")


@dataclass
class Decisions:
    """Rollouts of the test UAVs: positions tuple of (L_u+1, 3) float64 m, serving tuple of (L_u,) int64,
    projections (N_U,) int64 direction-projection events (zeros when the method has none), boundary (N_U,) int64
    boundary events of the simulator (None: counted from the positions), floor (N_U,) int64 floor projections of
    the simulator (D47; None: counted from the positions)."""

    positions: tuple
    serving: tuple
    projections: np.ndarray | None = None
    boundary: np.ndarray | None = None
    floor: np.ndarray | None = None

    def to_jsonable(self) -> dict:
        out = {"positions": [np.asarray(p, dtype=float).tolist() for p in self.positions],
               "serving": [np.asarray(s, dtype=np.int64).tolist() for s in self.serving]}
        for key in ("projections", "boundary", "floor"):
            if getattr(self, key) is not None:
                out[key] = np.asarray(getattr(self, key), dtype=np.int64).tolist()
        return out

    @classmethod
    def from_jsonable(cls, data: dict) -> "Decisions":
        for key in ("positions", "serving"):
            if key not in data:
                raise InputError(f"decisions.{key}: missing")
        proj, bnd, flo = data.get("projections"), data.get("boundary"), data.get("floor")
        return cls(tuple(np.asarray(p, dtype=float).reshape(-1, 3) for p in data["positions"]),
                   tuple(np.asarray(s, dtype=np.int64).reshape(-1) for s in data["serving"]),
                   None if proj is None else np.asarray(proj, dtype=np.int64),
                   None if bnd is None else np.asarray(bnd, dtype=np.int64),
                   None if flo is None else np.asarray(flo, dtype=np.int64))


def path_to_rollout(inst, waypoints: np.ndarray, bs) -> tuple[np.ndarray, np.ndarray]:
    """§6.1 conversion of a geometric path: waypoints (W, 3) m, bs (W−1,) BS per segment -> positions (L+1, 3)
    resampled at arc length Δs (last sample q_f = the last waypoint) and serving (L,) int64, the BS of the segment
    containing each sample (a sample on a waypoint belongs to the segment ending there). Zero-length segments are
    dropped."""
    w = np.asarray(waypoints, dtype=float).reshape(-1, 3)
    bs = np.asarray(bs, dtype=np.int64).reshape(-1)
    if bs.size != w.shape[0] - 1:
        raise InputError(f"bs: expected {w.shape[0] - 1} entries (one per segment), got {bs.size}")
    seg = np.linalg.norm(np.diff(w, axis=0), axis=1)
    keep = seg > 1e-12
    w = np.concatenate([w[:1], w[1:][keep]])
    bs, seg = bs[keep], seg[keep]
    if bs.size == 0:
        return w[:1].copy(), np.zeros(0, dtype=np.int64)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    ds = float(inst.uav_step_length)
    n_full = int(np.floor(cum[-1] / ds * (1 + 1e-12)))
    s = np.arange(n_full + 1) * ds
    if cum[-1] - s[-1] > 1e-9:
        s = np.append(s, cum[-1])
    else:
        s[-1] = cum[-1]
    i = np.clip(np.searchsorted(cum, s, side="left") - 1, 0, bs.size - 1)
    frac = ((s - cum[i]) / seg[i])[:, None]
    pos = w[i] + frac * (w[i + 1] - w[i])
    pos[-1] = w[-1]
    return pos, bs[i[1:]]


def _check_rollout(u: int, positions, serving):
    p = np.asarray(positions, dtype=float)
    s = np.asarray(serving)
    if p.ndim != 2 or p.shape[1] != 3 or p.shape[0] < 1:
        raise InputError(f"decisions.positions[{u}]: expected shape (L+1, 3), got {p.shape}")
    if s.shape != (p.shape[0] - 1,):
        raise InputError(f"decisions.serving[{u}]: expected shape ({p.shape[0] - 1},), got {s.shape}")
    if not np.all(np.isfinite(p)):
        raise InputError(f"decisions.positions[{u}]: must be finite")
    if s.size and not np.issubdtype(s.dtype, np.integer):
        raise InputError(f"decisions.serving[{u}]: must hold integer BS indices")
    return p, s.astype(np.int64)


def fail_penalty(inst) -> float:
    """λ_fail of E30 (D49): λ1·R_max^E (rule "rate_max", R_max^E of E31 with the exact backend) or the number."""
    from optkit.formulations.sagin.env import rate_bounds            # the env imports this module

    rule = inst.objective_fail_penalty
    return float(rule) if not isinstance(rule, str) else float(inst.objective_lambda[0]) * rate_bounds(inst)[1]


def uav_record(inst, start, positions, serving, projections: int = 0,
               boundary: int | None = None, floor: int | None = None) -> tuple[dict, dict]:
    """Metrics (§6.3) and violation amounts (§6.2) of one rollout: start (3,) m, positions (L+1, 3) m,
    serving (L,) int64; projections, boundary and floor: the simulator's event counts (boundary / floor None:
    counted from the positions as steps shorter than Δs ending on the box, the floor face apart). Exact rate
    backend."""
    model = radio_model(inst)
    q_f = np.asarray(inst.uav_destination, dtype=float)
    V, ds, r_req, lam = float(inst.uav_speed), float(inst.uav_step_length), float(inst.qos_r_req), inst.objective_lambda
    p, b = positions, serving
    L = b.size
    tau, t = step_durations(p, V)                                                      # E26
    rate = np.zeros(L)
    valid = (b >= 0) & (b < model.n_bs)
    unavailable = np.zeros(L, dtype=bool)
    net = np.full(L, -1)
    if L:
        links = model.links(p[1:], t)
        R = link_rates(links.p_mw, links.los, model.h_los, model.h_nlos, model.groups, model.noise,
                       model.bandwidth)                                                # E21, (L, B)
        n = np.flatnonzero(valid)
        rate[n] = R[n, b[n]]
        unavailable[n] = ~links.available[n, b[n]]
        net[n] = model.network[b[n]]
    gap_end = float(np.linalg.norm(p[-1] - q_f))
    arrived = gap_end <= ARRIVAL_TOL
    total = float(tau.sum())
    T = total if arrived else total + gap_end / V                                      # §6.3 flight time
    r_bar = F.time_weighted_rate(rate, tau)
    n_sw = int(count_switches(b)) if L else 0                                          # E27
    lengths = F.step_lengths(p)
    limit = np.full(L, ds + F.POS_TOL)
    if arrived and L:
        limit[-1] = max(ds, float(inst.uav_arrival_radius)) + F.POS_TOL
    box = inst.airspace_box
    on_floor = np.abs(p[1:, 2] - box[0, 2]) <= F.POS_TOL
    end_on_box = np.any(np.concatenate([np.abs(p[1:, :2] - box[0, :2]) <= F.POS_TOL,      # x, y faces and the
                                        np.abs(p[1:] - box[1]) <= F.POS_TOL], axis=1), axis=1)  # ceiling (D47)
    short = lengths < ds - F.POS_TOL
    if arrived and L:
        short[-1] = False                                                              # the final segment
    dir_bad = int(np.count_nonzero(F.direction_products(p, q_f) <= 0.0)) if L else 0
    share = [float(tau[net == k].sum() / total) if total > 0 else 0.0 for k in range(3)]
    j_paper = F.p2_objective(r_bar, n_sw, T, lam)                                     # E30
    j = j_paper if arrived else j_paper - fail_penalty(inst)                          # D49
    metrics = {
        "rate_mbps": r_bar, "switches": float(n_sw),
        "qsr": float(tau[rate >= r_req].sum() / total) if total > 0 else 0.0,
        "mission_qos": float(F.qos_slack(r_bar, r_req) >= 0.0),
        "flight_time_s": T, "objective": j, "objective_paper": j_paper, "failed": float(not arrived),
        "success": float(arrived), "over_horizon": float(arrived and L > int(inst.uav_max_steps) + 1),
        "steps": float(L), "direction_projections": float(projections),
        "boundary_events": float(np.count_nonzero(short & end_on_box) if boundary is None else boundary),
        "floor_projections": float(np.count_nonzero(short & on_floor & ~end_on_box) if floor is None else floor),
        "invalid_associations": float(np.count_nonzero(unavailable)),
        "direction_violations": float(dir_bad),
        "share_gn": share[0], "share_an": share[1], "share_sn": share[2],
    }
    metrics["qsr_pct"] = 100.0 * metrics["qsr"]
    violations = {
        "start": float(np.linalg.norm(p[0] - np.asarray(start, dtype=float)) > F.POS_TOL),
        "step_length": float(np.count_nonzero(lengths > limit)),
        "direction": float(dir_bad),
        "bounds": float(np.count_nonzero(F.outside_box(p, box))),
        "invalid_index": float(np.count_nonzero(~valid)),
        "invalid_association": float(np.count_nonzero(unavailable)),
        "not_arrived": float(not arrived),
        "qos": max(0.0, -F.qos_slack(r_bar, r_req)),
    }
    return metrics, violations


def evaluate(inst, solution) -> Evaluation:
    """Score a solution (its `decisions`: a Decisions or its JSON form) on every test UAV of the instance."""
    dec = solution.decisions if hasattr(solution, "decisions") else solution
    if isinstance(dec, dict):
        dec = Decisions.from_jsonable(dec)
    n_u = int(inst.uav_n_uavs)
    if len(dec.positions) != n_u or len(dec.serving) != n_u:
        raise InputError(f"decisions: expected {n_u} rollouts (one per test UAV), got {len(dec.positions)} "
                         f"positions and {len(dec.serving)} serving sequences")
    proj = np.zeros(n_u, dtype=np.int64) if dec.projections is None else np.asarray(dec.projections)
    if proj.shape != (n_u,):
        raise InputError(f"decisions.projections: expected shape ({n_u},), got {proj.shape}")
    bnd = None if dec.boundary is None else np.asarray(dec.boundary)
    if bnd is not None and bnd.shape != (n_u,):
        raise InputError(f"decisions.boundary: expected shape ({n_u},), got {bnd.shape}")
    flo = None if dec.floor is None else np.asarray(dec.floor)
    if flo is not None and flo.shape != (n_u,):
        raise InputError(f"decisions.floor: expected shape ({n_u},), got {flo.shape}")
    per_uav, violations = [], {}
    for u in range(n_u):
        p, s = _check_rollout(u, dec.positions[u], dec.serving[u])
        if bnd is not None and not 0 <= bnd[u] <= s.size:
            raise InputError(f"decisions.boundary[{u}]: {int(bnd[u])} events, expected 0..{s.size} (one per step at "
                             "most)")
        m, v = uav_record(inst, inst.starts_test[u], p, s, int(proj[u]), None if bnd is None else int(bnd[u]),
                          None if flo is None else int(flo[u]))
        per_uav.append(m)
        for key, amount in v.items():
            if amount > 0:
                violations[key] = violations.get(key, 0.0) + amount
    metrics = {spec.id: float(np.mean([m[spec.id] for m in per_uav])) for spec in UAV_METRICS}
    metrics["n_uavs"] = float(n_u)
    metrics.update({spec.id: float("nan") for spec in REFERENCE_METRICS})
    details = {"uavs": per_uav}
    info = getattr(solution, "info", None) or {}
    if info.get("lattice_values") is not None:        # a lattice reference: its own J*_L per UAV, the §6.5 yardstick
        details.update(lattice_values=list(info["lattice_values"]), gain_mode=info.get("gain_mode"))
    return Evaluation(metrics=metrics, feasible=not violations, violations=violations, details=details)


def with_reference(evaluation: Evaluation, reference: Evaluation) -> Evaluation:
    """§6.5 against the family reference (`lattice-dp`), in place; returns `evaluation`.

    Per test UAV u: J*_u is the reference's lattice value J*_L,u when its gains are "segment" (then J*_L is the
    evaluator's value of the DP path up to tick rounding, §8.3), else its evaluated value J_eval(DP)_u ("node"
    gains, or a reference without lattice values); gap_u = J*_u − J_u, frac_u = J_u / J*_u where J*_u > 0 (> 1 is
    reported, not clipped), R̄_u / R̄*_u and T*_u / T_u. The metrics are the means over the UAVs (frac over those
    with J*_u > 0) and `ref_is_lattice_value` says which J* was used. Needs the per-UAV records of both
    (`details["uavs"]`, from `evaluate`; the bench passes them from its cell records): without them the reference
    metrics stay NaN. Each UAV record of `evaluation.details` gets its own four values."""
    mine, theirs = evaluation.details.get("uavs"), reference.details.get("uavs")
    if mine is None or theirs is None:
        return evaluation
    if len(mine) != len(theirs):
        raise InputError(f"reference: scores {len(theirs)} UAVs, the evaluation {len(mine)}")
    lattice = reference.details.get("lattice_values")
    use_lattice = (lattice is not None and reference.details.get("gain_mode") == "segment"
                   and len(lattice) == len(theirs) and all(v is not None for v in lattice))
    j_ref = np.array([float(v) for v in lattice] if use_lattice else [r["objective"] for r in theirs], dtype=float)
    j = np.array([u["objective"] for u in mine], dtype=float)
    j_paper = np.array([u.get("objective_paper", u["objective"]) for u in mine], dtype=float)
    r, r_ref = np.array([u["rate_mbps"] for u in mine]), np.array([x["rate_mbps"] for x in theirs])
    t, t_ref = np.array([u["flight_time_s"] for u in mine]), np.array([x["flight_time_s"] for x in theirs])
    ok = np.isfinite(j_ref)
    pos = ok & (j_ref > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = {"gap_ref": np.where(ok, j_ref - j, np.nan), "frac_ref": np.where(pos, j / j_ref, np.nan),
               "frac_ref_paper": np.where(pos, j_paper / j_ref, np.nan),
               "rate_ratio_ref": np.where(r_ref > 0, r / r_ref, np.nan),
               "time_ratio_ref": np.where(t > 0, t_ref / t, np.nan)}

    def mean(x):
        x = x[np.isfinite(x)]
        return float(x.mean()) if x.size else float("nan")

    evaluation.metrics.update({k: mean(v) for k, v in per.items()})
    evaluation.metrics["ref_is_lattice_value"] = float(use_lattice)
    evaluation.details["uavs"] = [dict(u, **{k: float(v[i]) for k, v in per.items()}) for i, u in enumerate(mine)]
    return evaluation
