"""The one judge of `leo-handover` (§6): serving sequences in, metrics out.

Decisions: one serving sequence per test episode, srv (L_i,) int64 with -1 at outage steps (§6.1). Every metric is
recomputed here from srv, the world and ψ; per-episode values are in `Evaluation.details["episodes"]`, the
metrics dict holds their means over the episodes with a defined value (§6.3, NaN episodes excluded and counted).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optkit.evaluation import Evaluation, MetricSpec
from optkit.formulations.leo_handover.episode import EpisodeTable, evaluation_tables
from optkit.formulations.leo_handover.geometry import fspl_db
from optkit.formulations.leo_handover.offline import handover_count, min_handover_schedule

EPISODE_METRICS = (
    MetricSpec("handovers", "count", "lower", "handover count H per episode"),
    MetricSpec("handover_freq", "1", "lower", "handover frequency f_HO = H / (L - 1)"),
    MetricSpec("handover_rate_hr", "1/h", "lower", "handovers per hour H / (L·Δt / 3600)"),
    MetricSpec("handovers_forced", "count", "lower", "handovers whose previous satellite left E(k)"),
    MetricSpec("handovers_voluntary", "count", "lower", "handovers while the previous satellite stayed eligible"),
    MetricSpec("link_duration", "1", "higher", "link-duration ratio LD = n_conn / (L·(H + B))"),
    MetricSpec("link_duration_s", "s", "higher", "mean link duration T_link = n_conn·Δt / (H + B)"),
    MetricSpec("retention", "1", "higher", "link-retention ratio κ"),
    MetricSpec("reward", "1", "higher", "total reward G (E20-E22, without c_HO)"),
    MetricSpec("reward_per_step", "1", "higher", "mean reward per connected step G / n_conn"),
    MetricSpec("outage_frac", "1", "none", "outage fraction 1 - n_conn / L"),
    MetricSpec("blocks", "count", "none", "connected blocks B"),
    MetricSpec("serving_elev_deg", "deg", "higher", "mean serving elevation"),
    MetricSpec("serving_range_km", "km", "lower", "mean serving slant range"),
    MetricSpec("low_elev_frac", "1", "lower", "fraction of connected steps with serving El < 30°"),
    MetricSpec("fspl_db", "dB", "lower", "mean serving free-space path loss at 2 GHz (E17, auxiliary)"),
    MetricSpec("h_min", "count", "none", "minimum handover count of the episode (offline-minho)"),
    MetricSpec("eta_ho", "1", "higher", "HO optimality H_min / H (1 when H = 0)"),
    MetricSpec("excess_handovers", "count", "lower", "ΔH = H - H_min"),
    MetricSpec("eta_g", "1", "higher", "reward optimality G / G_UB (G_UB > 0)"),
    MetricSpec("eta_ld", "1", "higher", "link-duration optimality LD / LD_max"),
    MetricSpec("handover_penalty_total", "1", "none", "c_HO·H (extension; never part of G)"),
)
# Spread over the test episodes of the headline metrics (§6.4): std, median and a 95 % bootstrap interval of the
# mean (1000 resamples of the episodes, stream [S, 600], the same draws for every method).
SPREAD_METRICS = ("handovers", "handover_freq", "link_duration", "reward")
BOOTSTRAP_RESAMPLES = 1000
SPREAD = tuple(
    MetricSpec(f"{m}_{stat}", unit, "none", f"{text} of {m} over the test episodes")
    for m, unit in zip(SPREAD_METRICS, ("count", "1", "1", "1"))
    for stat, text in (("std", "standard deviation"), ("median", "median"),
                       ("ci_low", "lower end of the 95 % bootstrap interval of the mean"),
                       ("ci_high", "upper end of the 95 % bootstrap interval of the mean")))
METRICS = EPISODE_METRICS + SPREAD + (
    MetricSpec("objective", "1", "higher", "mean total reward G per episode (the P1 objective, undiscounted)"),
    MetricSpec("episodes", "count", "none", "test episodes scored"),
    MetricSpec("empty_episodes", "count", "none", "episodes without any eligible satellite (LD undefined)"),
    MetricSpec("infeasible_episodes", "count", "lower", "episodes whose serving sequence breaks §6.2"),
    MetricSpec("frac_opt", "1", "higher", "mean H of the reference schedule / mean H (1 when both are 0)"),
    MetricSpec("frac_opt_of", "1", "higher", "mean G / mean G of the reference schedule"),
)


@dataclass
class Decisions:
    """Serving sequences, one (L_i,) int64 array per test episode (-1 = outage)."""

    srv: tuple

    def to_jsonable(self) -> dict:
        return {"srv": [np.asarray(s, dtype=np.int64).tolist() for s in self.srv]}

    @classmethod
    def from_jsonable(cls, data: dict) -> "Decisions":
        return cls(tuple(np.asarray(s, dtype=np.int64) for s in data["srv"]))


def pair_of(table: EpisodeTable, ids: np.ndarray) -> np.ndarray:
    """Pair index of satellite ids[k] at episode step k, -1 where ids[k] is not eligible there (or -1). (L,)."""
    step = table.step
    hit = table.sat == np.asarray(ids)[step]
    out = np.full(table.L, -1, dtype=np.int64)
    out[step[hit]] = np.flatnonzero(hit)
    return out


def feasibility(table: EpisodeTable, srv: np.ndarray, served: np.ndarray | None = None) -> dict:
    """Violations of §6.2 checks 1-3 with their counts (empty when feasible). served: pair_of(table, srv) when
    the caller has it already."""
    srv = np.asarray(srv)
    if srv.shape != (table.L,):
        return {"length": abs(int(srv.size) - table.L) or 1}
    connected = table.counts > 0
    out = {}
    wrong_outage = np.count_nonzero(connected != (srv >= 0))
    if wrong_outage:
        out["connected_when_possible"] = int(wrong_outage)
    served = pair_of(table, srv) if served is None else served
    bad = np.count_nonzero((srv >= 0) & (served < 0))
    if bad:
        out["serving_not_eligible"] = int(bad)
    return out


def episode_metrics(table: EpisodeTable, srv: np.ndarray, handover_penalty: float = 0.0,
                    served: np.ndarray | None = None) -> dict:
    """Every §6.3 metric of one feasible episode. served: pair_of(table, srv) when the caller has it already."""
    srv = np.asarray(srv, dtype=np.int64)
    L, dt = table.L, table.dt_s
    connected = table.counts > 0
    n_conn = int(connected.sum())
    blocks = int(np.count_nonzero(connected & ~np.concatenate([[False], connected[:-1]])))
    H = handover_count(srv)
    prev, cur = srv[:-1], srv[1:]
    switch = np.flatnonzero((prev >= 0) & (cur >= 0) & (prev != cur)) + 1
    previous = np.concatenate([[-1], srv[:-1]])                  # srv_{k-1} at step k
    forced = int(np.count_nonzero(pair_of(table, previous)[switch] < 0))
    served = pair_of(table, srv) if served is None else served
    pairs = served[srv >= 0]
    G = float(table.reward[pairs].sum())
    h_min = handover_count(min_handover_schedule(table.step_ptr, table.sat, table.end))
    best = np.maximum.reduceat(table.reward, table.step_ptr[:-1][connected]) if n_conn else np.zeros(0)
    g_ub = float(best.sum())
    nan = float("nan")
    ld = n_conn / (L * (H + blocks)) if n_conn else nan
    ld_max = n_conn / (L * (h_min + blocks)) if n_conn else nan
    el = table.el_deg[pairs]
    rng = table.range_km[pairs]
    return {
        "handovers": float(H), "handover_freq": H / (L - 1) if L > 1 else 0.0,
        "handover_rate_hr": H / (L * dt / 3600.0),
        "handovers_forced": float(forced), "handovers_voluntary": float(H - forced),
        "link_duration": ld, "link_duration_s": n_conn * dt / (H + blocks) if n_conn else nan,
        "retention": float(np.count_nonzero((prev >= 0) & (prev == cur))) / (L - 1) if L > 1 else nan,
        "reward": G, "reward_per_step": G / n_conn if n_conn else nan,
        "outage_frac": 1.0 - n_conn / L, "blocks": float(blocks),
        "serving_elev_deg": float(el.mean()) if n_conn else nan,
        "serving_range_km": float(rng.mean()) if n_conn else nan,
        "low_elev_frac": float(np.mean(el < 30.0)) if n_conn else nan,
        "fspl_db": float(np.mean(fspl_db(rng))) if n_conn else nan,
        "h_min": float(h_min), "eta_ho": h_min / H if H > 0 else 1.0, "excess_handovers": float(H - h_min),
        "eta_g": G / g_ub if g_ub > 0 else nan, "eta_ld": ld / ld_max if n_conn else nan,
        "handover_penalty_total": handover_penalty * H,
    }


def _mean(values) -> float:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else float("nan")


def spread(values: dict, base_seed: int) -> dict:
    """std (ddof 1), median and 95 % bootstrap interval of the mean of each list of per-episode values (NaN
    episodes left out); the resampling indices come from SeedSequence([S, 600]) (§6.4)."""
    out = {}
    for name, raw in values.items():
        v = np.asarray(raw, dtype=float)
        v = v[np.isfinite(v)]
        nan = float("nan")
        if v.size == 0:
            out.update({f"{name}_std": nan, f"{name}_median": nan, f"{name}_ci_low": nan, f"{name}_ci_high": nan})
            continue
        rng = np.random.default_rng(np.random.SeedSequence([int(base_seed), 600]))
        means = v[rng.integers(0, v.size, size=(BOOTSTRAP_RESAMPLES, v.size))].mean(axis=1)
        low, high = np.percentile(means, [2.5, 97.5])
        out.update({f"{name}_std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
                    f"{name}_median": float(np.median(v)), f"{name}_ci_low": float(low),
                    f"{name}_ci_high": float(high)})
    return out


def evaluate(inst, solution) -> Evaluation:
    """Score a solution's serving sequences on every test episode of the instance."""
    srv_all = solution.decisions.srv
    if len(srv_all) != int(inst.n_test_episodes):
        raise ValueError(f"decisions hold {len(srv_all)} serving sequences, the instance has "
                         f"{inst.n_test_episodes} test episodes")
    per_episode, violations = [], {}
    infeasible = empty = 0
    for i, table in enumerate(evaluation_tables(inst)):
        srv = np.asarray(srv_all[i], dtype=np.int64)
        served = pair_of(table, srv) if srv.shape == (table.L,) else None
        broken = feasibility(table, srv, served)
        if table.counts.sum() == 0:
            empty += 1
        if broken:
            infeasible += 1
            for name, amount in broken.items():
                violations[name] = violations.get(name, 0.0) + float(amount)
            per_episode.append({m.id: float("nan") for m in EPISODE_METRICS})
            continue
        per_episode.append(episode_metrics(table, srv, float(inst.handover_penalty), served))
    metrics = {m.id: _mean([e[m.id] for e in per_episode]) for m in EPISODE_METRICS}
    metrics.update(spread({m: [e[m] for e in per_episode] for m in SPREAD_METRICS}, int(inst.seed)))
    metrics.update(objective=metrics["reward"], episodes=float(len(per_episode)), empty_episodes=float(empty),
                   infeasible_episodes=float(infeasible), frac_opt=float("nan"), frac_opt_of=float("nan"))
    return Evaluation(metrics=metrics, feasible=infeasible == 0, violations=violations,
                      details={"episodes": per_episode})


def with_reference(evaluation: Evaluation, reference: Evaluation) -> Evaluation:
    """frac_opt = mean H of the reference / mean H (1 when both are 0); frac_opt_of = mean G / mean G of the
    reference (the family reference `offline-dp` is the lexicographic schedule: fewest handovers, then best reward)."""
    m, ref = evaluation.metrics, reference.metrics
    h, h_ref = m["handovers"], ref["handovers"]
    if np.isfinite(h) and np.isfinite(h_ref):
        m["frac_opt"] = 1.0 if h == 0 else h_ref / h
    m["frac_opt_of"] = m["reward"] / ref["reward"] if ref["reward"] > 0 else float("nan")
    return evaluation
