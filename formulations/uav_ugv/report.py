"""Family figures and tables of `optkit report` for `uav-ugv` (§9 of docs/families/uav-ugv.md).

`report_extras(res, figs, figures)` draws the figures an experiment names in `datasets/uav-ugv/_experiments.toml`:

- "users": sum rate and objective per method and number of users K, under each method's own association and under
  E28 (table; the curves are the generic "sweep" figure);
- "fraction-opt": J / J_ref per method on tiny-exact (continuous methods flagged, they may exceed 1);
- "assoc-gap": per slot J_rule / J_MILP of E28 and `hungarian-sizes`, MILP status, solve time and bound;
- "backhaul": outages, sum rate, objective and UGV path per method;
- "qos-weight": objective, sum rate, QoS satisfaction and smallest cell per preset and method;
- "trajectory": 3-D UAV trajectories with the UGV routes on the road graph (first seed per method);
- "snapshot": 3-D positions at the middle slot with the road graph and the user-to-UAV lines.
"sweep" is the generic report's. Trajectories and per-slot association values come from the bench's cell records
(`cell_record`). A figure whose data are missing is skipped with a reason, never raised.
"""
from __future__ import annotations

import math

import numpy as np

from optkit import report as core
from optkit.errors import InputError

GENERIC_FIGURES = ("sweep",)
DEFAULT_FIGURES = ("users", "trajectory")
SKIPPABLE = (InputError, ValueError, LookupError, OSError, ArithmeticError, KeyError)
CONTINUOUS = ("bcd-sca", "static-kmeans", "greedy-myopic", "hover-home", "random", "ugv-static")


def cell_record(instance, solution, evaluation) -> dict:
    """Per bench cell: the plan's trajectories (q rounded to cm, UGV waypoints), and for ref-assoc-milp its
    per-slot association values."""
    plan = solution.decisions
    record = {"q": np.round(np.asarray(plan.q), 2).tolist(), "ugv_wp": np.asarray(plan.ugv_wp).astype(int).tolist()}
    slots = solution.info.get("slots") if isinstance(solution.info, dict) else None
    if slots:
        record["slots"] = [{k: v for k, v in s.items()} for s in slots]
    if isinstance(solution.info, dict) and "pg_status" in solution.info:
        record["pg"] = {k: solution.info[k] for k in ("routes", "outages", "dp_outages", "pg_status", "pg_outages",
                                                      "pg_bound", "pg_gap", "pg_solve_s")}
    return record


def _means_table(ctx, metrics, place_label=True) -> list[str]:
    rows = []
    for scenario, point in ctx.places():
        for method, config in ctx.series():
            frame = ctx.rows(scenario, point, method, config)
            if frame.empty:
                continue
            cells = [scenario + (f":{point}" if point else ""), core.series_name(method, config), str(len(frame))]
            for m in metrics:
                vals = frame[m].astype(float).to_numpy() if m in frame else np.array([])
                mean, std, n = core.metric_stats(vals)
                cells.append(core.format_stat(mean, std, n) if n else "–")
            rows.append(cells)
    if not rows:
        raise LookupError("no finished rows")
    return core.md_table(["preset", "method", "cells", *metrics], rows) + [""]


def _users(ctx, figs) -> list[str]:
    return ["### Sum rate vs users (own association and E28)", ""] + _means_table(
        ctx, ("sum_rate_mbps", "sum_rate_mbps_e28", "objective", "objective_e28", "qos_satisfaction",
              "backhaul_outages"))


def _fraction(ctx, figs) -> list[str]:
    lines = ["### Fraction of the lattice optimum (ref-grid-dp)", "",
             "Methods not restricted to the lattice (flagged continuous) may exceed 1 (§8.1).", ""]
    lines += _means_table(ctx, ("objective", "fraction_of_opt", "gap_to_opt", "qos_satisfaction",
                                "backhaul_outages"))
    return lines


def _backhaul(ctx, figs) -> list[str]:
    lines = ["### Backhaul: parked vs routed UGVs", ""] + _means_table(
        ctx, ("backhaul_outages", "sum_rate_mbps", "objective", "ugv_path_km", "qos_satisfaction"))
    rows = [[scenario + (f":{point}" if point else ""), str(seed), str(rec["pg"]["pg_status"]),
             core.format_number(rec["pg"]["pg_outages"]), core.format_number(rec["pg"]["pg_bound"]),
             core.format_number(rec["pg"]["dp_outages"]), core.format_number(rec["pg"]["pg_solve_s"])]
            for (scenario, point, seed, *_), rec in sorted(ctx.records.items(), key=lambda kv: str(kv[0]))
            if "pg" in rec]
    if rows:
        lines += ["P-G (ref-ugv-milp) on the static-kmeans trajectory: minimum outages against the DP routes", ""]
        lines += core.md_table(["preset", "seed", "P-G status", "P-G outages", "P-G bound", "DP outages",
                                "solve s"], rows) + [""]
    return lines


def _qos_weight(ctx, figs) -> list[str]:
    return ["### QoS weight sensitivity", ""] + _means_table(
        ctx, ("objective", "sum_rate_mbps", "qos_satisfaction", "min_cell_size"))


def _assoc_gap(ctx, figs) -> list[str]:
    rows, ratios = [], {"e28": [], "hungarian_sizes": []}
    for (scenario, point, seed, method, config, _), rec in sorted(ctx.records.items(), key=lambda kv: str(kv[0])):
        for s in rec.get("slots", []):
            if s.get("milp_status") is None:
                continue
            ref = s.get("milp_value")
            best = s["value"]
            row = [scenario + (f":{point}" if point else ""), str(seed), config or "default", str(s["slot"]),
                   s["milp_status"], core.format_number(ref) if ref is not None else "–",
                   core.format_number(s.get("bound")) if s.get("bound") is not None else "–"]
            for name in ("e28", "hungarian_sizes"):
                r = rule_ratio(s[name], best)
                ratios[name].append(r)
                row.append(core.format_number(r))
            row.append(core.format_number(s.get("solve_s", math.nan)))
            rows.append(row)
    if not rows:
        raise LookupError("no ref-assoc-milp cell records")
    lines = ["### Association optimality gap (J_rule / J_best, J_best = the better of the MILP and the rules)", ""]
    for name, vals in ratios.items():
        v = np.array([x for x in vals if np.isfinite(x)])
        if v.size:
            lines.append(f"- {name}: mean {v.mean():.4f}, min {v.min():.4f} over {v.size} slots")
    lines.append("")
    lines += core.md_table(["preset", "seed", "config", "slot", "MILP status", "J_MILP", "bound", "E28 ratio",
                            "hungarian-sizes ratio", "solve s"], rows[:200])
    return lines + [""]


def rule_ratio(value: float, best: float) -> float:
    """J_rule / J_best when J_best > 0; for J_best ≤ 0 the ratio best / rule (≤ 1 too, 1 = optimal)."""
    if best > 0:
        return value / best
    if value < 0:
        return best / value
    return math.nan


def _road(ax, inst) -> None:
    nodes = np.asarray(inst.road_nodes)
    for a, b, _, _ in np.asarray(inst.road_edges):
        ax.plot(*nodes[[int(a), int(b)]].T, [0, 0], color="#bbbbbb", lw=0.8)


def _first_records(ctx):
    seen = {}
    for key, rec in sorted(ctx.records.items(), key=lambda kv: str(kv[0])):
        scenario, point, seed, method, config, _ = key
        seen.setdefault((method, config), (scenario, point, seed, rec))
    if not seen:
        raise LookupError("no cell records")
    return seen


def _trajectory(ctx, figs) -> list[str]:
    from matplotlib.figure import Figure

    seen = _first_records(ctx)
    lines = []
    for (method, config), (scenario, point, seed, rec) in list(seen.items())[:8]:
        inst = ctx.instance(scenario, point, seed)
        q = np.asarray(rec["q"])
        w = np.asarray(rec["ugv_wp"])
        fig = Figure(figsize=(6.5, 5.2))
        ax = fig.add_subplot(projection="3d")
        _road(ax, inst)
        users = np.asarray(inst.users)
        ax.scatter(users[:, 0], users[:, 1], 0, s=6, color="#888888", label="users")
        pts = np.asarray(inst.waypoints)
        for u in range(q.shape[0]):
            ax.plot(q[u, :, 0], q[u, :, 1], q[u, :, 2], marker=".", lw=1.2, label=f"UAV {u + 1}")
        for m in range(w.shape[0]):
            ax.plot(pts[w[m], 0], pts[w[m], 1], np.zeros(w.shape[1]), lw=2.0, ls="--", label=f"UGV {m + 1}")
        ax.set_xlabel("x [m]")
        ax.set_ylabel("y [m]")
        ax.set_zlabel("z [m]")
        ax.legend(fontsize=6, loc="upper left")
        name = core.safe_name(f"uav-ugv-trajectory-{method}-{config or 'default'}.png")
        figs.save(fig, name, f"{core.series_name(method, config)}: UAV trajectories and UGV routes "
                             f"({scenario}{':' + point if point else ''}, seed {seed})")
    return lines


def _snapshot(ctx, figs) -> list[str]:
    from matplotlib.figure import Figure

    from optkit.formulations.uav_ugv.evaluator import score

    seen = _first_records(ctx)
    for (method, config), (scenario, point, seed, rec) in list(seen.items())[:4]:
        inst = ctx.instance(scenario, point, seed)
        q = np.asarray(rec["q"], dtype=float)
        w = np.asarray(rec["ugv_wp"], dtype=np.int64)
        n = max(1, inst.n_slots // 2)
        sc = score(inst, q, w)
        fig = Figure(figsize=(6.5, 5.2))
        ax = fig.add_subplot(projection="3d")
        _road(ax, inst)
        users = np.asarray(inst.users)
        pts = np.asarray(inst.waypoints)
        alpha = sc.alpha[n - 1]
        for u in range(q.shape[0]):
            ax.scatter(*q[u, n], s=40, label=f"UAV {u + 1} (cell {int(alpha[u].sum())})")
            for k in np.nonzero(alpha[u])[0]:
                ax.plot([q[u, n, 0], users[k, 0]], [q[u, n, 1], users[k, 1]], [q[u, n, 2], 0], lw=0.3,
                        color="#999999")
        ax.scatter(users[:, 0], users[:, 1], 0, s=5, color="#555555")
        ax.scatter(pts[w[:, n], 0], pts[w[:, n], 1], 0, marker="s", s=40, color="k", label="UGVs")
        ax.set_xlabel("x [m]")
        ax.set_ylabel("y [m]")
        ax.set_zlabel("z [m]")
        ax.legend(fontsize=6, loc="upper left")
        name = core.safe_name(f"uav-ugv-snapshot-{method}-{config or 'default'}.png")
        figs.save(fig, name, f"{core.series_name(method, config)}: positions at slot {n} with the association "
                             f"(E27–E28) ({scenario}, seed {seed})")
    return []


BUILDERS = {"users": _users, "fraction-opt": _fraction, "assoc-gap": _assoc_gap, "backhaul": _backhaul,
            "qos-weight": _qos_weight, "trajectory": _trajectory, "snapshot": _snapshot}


def report_extras(res, figs, figures) -> list[str]:
    """Draw the requested figures (None: users, trajectory) and return their markdown lines."""
    return core.draw_family_figures("uav-ugv", BUILDERS, list(DEFAULT_FIGURES if figures is None else figures),
                                    GENERIC_FIGURES, core.ReportContext(res), figs, SKIPPABLE)
