"""Entry points of the family's exact references (§8): `ref-grid-dp` (§8.1) and `ref-assoc-milp` (§8.2)."""
from __future__ import annotations

import time

import numpy as np

from optkit.formulations.uav_ugv import association as assoc
from optkit.formulations.uav_ugv import milp, routing
from optkit.formulations.uav_ugv.evaluator import Plan, evaluate, slot_channels
from optkit.solution import Solution, Status


def _gap(objective: float, bound: float) -> float:
    return abs(bound - objective) / max(1e-10, abs(objective))


def solve_grid_dp(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """`ref-grid-dp` (§8.1): lattice DP (C1 relaxed), then UGV routes for its trajectory by the DP of §7.4 and,
    when that leaves outages, by the P-G MILP. Status `optimal` (for the lattice-restricted problem) when the
    routes give no outage; otherwise `feasible` with the DP value as the C1-relaxed bound."""
    from optkit.formulations.uav_ugv.grid_dp import solve_grid

    start = time.perf_counter()
    res = solve_grid(inst)
    q, alpha = res["q"], res["alpha"]
    routes = routing.dp_routes(inst, q)
    plan = Plan(q=q, ugv_wp=routes, alpha=alpha)
    ev = evaluate(inst, plan)
    info = {"lattice_value": res["value"], "c1_check": "dp"}
    if ev.metrics["backhaul_outages"] > 0:
        feas = routing.waypoint_snr_db(inst, q) >= inst.snr_min_backhaul_db
        left = None if time_limit is None else max(1.0, time_limit - (time.perf_counter() - start))
        pg = milp.ugv_milp(inst, feas, time_limit=left if left is not None else 300.0)
        info.update(c1_check="p-g", pg_status=pg["status"], pg_outages=pg["outages"], pg_bound=pg["bound"])
        if pg["routes"] is not None and pg["outages"] is not None and pg["outages"] < ev.metrics["backhaul_outages"]:
            plan = Plan(q=q, ugv_wp=pg["routes"], alpha=alpha, x=pg["x"])
            ev = evaluate(inst, plan)
    J = ev.metrics["objective"]
    if ev.metrics["backhaul_outages"] == 0 and ev.feasible:
        status, objective, bound = Status.OPTIMAL, res["value"], res["value"]
    else:
        status, objective, bound = Status.FEASIBLE, J, max(res["value"], J)
        info["c1_relaxed_bound"] = res["value"]
    return Solution(inst.family, "ref-grid-dp", status, plan, objective=objective, bound=bound,
                    gap=_gap(objective, bound), runtime_s=time.perf_counter() - start, info=info)


def assoc_milp_plan(inst, q: np.ndarray, routes: np.ndarray, *, slots=None, form: str = "disaggregated",
                    time_limit: float = 30.0) -> dict:
    """P-A on every slot (or the 1-based `slots`) of a fixed trajectory; per slot the better of the MILP
    incumbent and the rule associations (E28, `hungarian-sizes`, with E27's x). Returns per-slot records and the
    plan's α, x (rule association on slots not solved)."""
    S, SE, snr = slot_channels(inst, q, routes)
    N, U, K = S.shape
    M = snr.shape[1]
    alpha = np.zeros((N, U, K), dtype=bool)
    X = np.zeros((N, M, U), dtype=bool)
    records = []
    chosen = range(1, N + 1) if slots is None else slots
    for n in range(N):
        feas = snr[n] >= inst.snr_min_linear
        x_rule = assoc.hungarian_x(inst, snr[n])
        eligible = ~assoc.outages(inst, snr[n], x_rule)
        e28 = assoc.greedy_ls(inst, S[n], SE[n], eligible)
        v28 = milp.slot_value_with_x(inst, SE[n], feas, e28, x_rule)
        hs, vhs = assoc.hungarian_sizes(inst, SE[n], eligible, e28) if eligible.any() else (e28, v28)
        vhs = milp.slot_value_with_x(inst, SE[n], feas, hs, x_rule)
        best_serve, best_x, best_v, source = (hs, x_rule, vhs, "hungarian-sizes") if vhs >= v28 else \
            (e28, x_rule, v28, "greedy-ls")
        rec = {"slot": n + 1, "e28": v28, "hungarian_sizes": vhs}
        if n + 1 in chosen:
            res = milp.association_milp(inst, SE[n], feas, form=form, time_limit=time_limit)
            rec.update(milp_status=res["status"], milp_value=res["value"], bound=res["bound"], solve_s=res["solve_s"])
            if res["value"] is not None and res["value"] > best_v + 1e-9:
                best_serve, best_x, best_v, source = res["serve"], res["x"], res["value"], "milp"
            if res["status"] == "optimal" and res["value"] is not None:
                rec["bound"] = max(res["value"], best_v) if res["bound"] is None else res["bound"]
        rec.update(value=best_v, source=source)
        records.append(rec)
        alpha[n] = assoc.serve_to_alpha(best_serve, U)
        X[n] = best_x
    return {"records": records, "alpha": alpha, "x": X}


def parse_slots(text: str, n_slots: int) -> list[int] | None:
    """'all' -> None; '5,10,15' -> [5, 10, 15] (slots 1..N; InputError otherwise)."""
    from optkit.errors import InputError

    if text == "all":
        return None
    try:
        slots = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise InputError(f"slots: expected 'all' or comma-separated slot numbers, got {text!r}") from None
    if not slots or min(slots) < 1 or max(slots) > n_slots:
        raise InputError(f"slots: slot numbers must lie in 1..{n_slots}, got {text!r}")
    return slots


def solve_assoc_milp(inst, *, seed: int = 0, time_limit: float | None = 30.0, form: str = "disaggregated",
                     slots: str = "all") -> Solution:
    """`ref-assoc-milp` (§8.2): exact per-slot association (P-A) on the `static-kmeans` trajectory (method seed
    `seed`) with its DP UGV routes. time_limit: per slot, s. slots: 'all' or the slots to solve (the others keep
    the better rule association and are not certified). `optimal` when every solved slot's MILP closed and every
    slot was solved, else `time_limit` (or `feasible` when slots were skipped) with the mean of the slot bounds."""
    start = time.perf_counter()
    chosen = parse_slots(slots, inst.n_slots)
    q = routing.kmeans_plan(inst, seed)
    routes = routing.dp_routes(inst, q)
    res = assoc_milp_plan(inst, q, routes, slots=chosen, form=form,
                          time_limit=30.0 if time_limit is None else time_limit)
    recs = res["records"]
    plan = Plan(q=q, ugv_wp=routes, alpha=res["alpha"], x=res["x"])
    objective = float(np.mean([r["value"] for r in recs])) if recs else 0.0
    closed = all(r.get("milp_status") == "optimal" for r in recs)
    bounds = [r.get("bound") for r in recs]
    bound = float(np.mean(bounds)) if bounds and all(b is not None for b in bounds) else None
    if bound is not None:
        bound = max(bound, objective)
    status = Status.OPTIMAL if closed else Status.TIME_LIMIT
    if chosen is not None and all(r.get("milp_status") in ("optimal", None) for r in recs):
        status = Status.FEASIBLE
    if status == Status.OPTIMAL:
        bound = objective if bound is None or abs(bound - objective) <= 1e-4 * max(1.0, abs(objective)) else bound
        if _gap(objective, bound) > 1e-4:
            status = Status.TIME_LIMIT
    return Solution(inst.family, "ref-assoc-milp", status, plan, objective=objective, bound=bound,
                    gap=None if bound is None else _gap(objective, bound), runtime_s=time.perf_counter() - start,
                    info={"slots": recs, "form": form, "trajectory": "static-kmeans"})


def solve_ugv_milp(inst, *, seed: int = 0, time_limit: float | None = 300.0) -> Solution:
    """`ref-ugv-milp` (§8.3): P-G (§5.3.2, with G7) on the `static-kmeans` trajectory (method seed `seed`): the
    minimum number of backhaul outages any UGV schedule can reach for it; the result is the better (fewer
    outages) of the MILP incumbent and the DP routes of §7.4. The proof concerns outages, not J, so the status is
    `feasible` and the outage count, bound and MILP status are in `info` (objective and bound stay empty)."""
    start = time.perf_counter()
    q = routing.kmeans_plan(inst, seed)
    dp = routing.dp_routes(inst, q)
    dp_eval = evaluate(inst, Plan(q=q, ugv_wp=dp))
    feas = routing.waypoint_snr_db(inst, q) >= inst.snr_min_backhaul_db
    pg = milp.ugv_milp(inst, feas, time_limit=300.0 if time_limit is None else time_limit)
    plan, source, outages = Plan(q=q, ugv_wp=dp), "dp", dp_eval.metrics["backhaul_outages"]
    if pg["routes"] is not None and pg["outages"] is not None and pg["outages"] < outages:
        plan, source, outages = Plan(q=q, ugv_wp=pg["routes"], x=pg["x"]), "milp", pg["outages"]
    info = {"trajectory": "static-kmeans", "routes": source, "outages": outages, "dp_outages":
            dp_eval.metrics["backhaul_outages"], "pg_status": pg["status"], "pg_outages": pg["outages"],
            "pg_bound": pg["bound"], "pg_gap": pg["gap"], "pg_solve_s": pg["solve_s"]}
    return Solution(inst.family, "ref-ugv-milp", Status.FEASIBLE, plan, runtime_s=time.perf_counter() - start,
                    info=info)
