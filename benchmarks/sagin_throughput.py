"""Rollout-style rate evaluation of `sagin` (docs/families/sagin.md §4.5): the vectorized exact backend against a
straightforward per-step, per-UAV, per-BS Python loop on the same inputs (target: >= 20x faster).

    python benchmarks/sagin_throughput.py [--preset paper-default] [--seed 0] [--loop-steps 5] [--repeat 3]
        [--out benchmarks/results/sagin_throughput.md]

Inputs: the preset's N_U test starts flying the straight line to q_f at Δs per step for N_max steps (positions
held at q_f after arrival), satellites evaluated at t_n = n Δt; every (step, UAV) point needs all B_tot rates
(E3-E21, J frozen draws). The vectorized path is `RadioModel.rates` on all points at once (site LoS tables
included in the timing of a fresh model), and the same called once per rollout step as an environment would.
The loop computes each point's links one BS at a time (E3 by the literal ray-building test over all buildings,
E4-E9 / E12-E16 with scalar inputs, E20 interference summed over the other BSs in a Python loop) on the first
--loop-steps steps only; its per-point time is extrapolated.
Both agree to 1e-9 relative on the looped points (asserted).
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import time
from pathlib import Path

import numpy as np

from optkit.formulations.sagin import antennas as A
from optkit.formulations.sagin import pathloss as P
from optkit.formulations.sagin import radio
from optkit.formulations.sagin.buildings import segment_los
from optkit.formulations.sagin.generator import generate
from optkit.scenarios import load_scenario


def rollout_points(inst) -> tuple[np.ndarray, np.ndarray]:
    """Straight-line positions (N_max + 1, N_U, 3) m and times (N_max + 1,) s."""
    qf = np.asarray(inst.uav_destination, dtype=float)
    q0 = np.asarray(inst.starts_test, dtype=float)
    d = np.linalg.norm(qf - q0, axis=1)
    u = (qf - q0) / d[:, None]
    n = np.arange(inst.uav_max_steps + 1)
    s = np.minimum(n[:, None] * inst.uav_step_length, d[None, :])
    return q0[None] + s[..., None] * u[None], n * inst.step_duration


def loop_rates(inst, model, q: np.ndarray, t: float) -> np.ndarray:
    """Rates (B,) at one point, one BS at a time (the straightforward implementation)."""
    el = (inst.element_g_max, inst.element_theta_3db, inst.element_phi_3db, inst.element_sla_v, inst.element_a_m)
    p = np.zeros(model.n_bs)
    los = np.ones(model.n_bs, dtype=bool)
    for b in range(model.n_t):
        pos = model.bs_pos[b]
        dx, dy, dz = q - pos
        d2, d3 = math.hypot(dx, dy), math.sqrt(dx * dx + dy * dy + dz * dz)
        theta = math.degrees(math.atan2(d2, dz))
        phi = float(A.wrap_deg(math.degrees(math.atan2(dy, dx)) - model.sector_az[b]))
        nv, nh = model.arrays[b]
        g = float(A.bs_gain_db(theta, phi, model.tilt[b], nv, nh, *el))
        los[b] = bool(segment_los(pos[None], q[None], inst.building_centers, inst.building_width,
                                  inst.building_heights)[0])
        fc = model.fc_t[b]
        pl = float(P.pl_uma_av_los(d3, fc) if los[b] else P.pl_uma_av_nlos(d3, q[2], fc))
        p[b] = 10 ** ((model.tx_t[b] + g + inst.uav_antenna_gain - pl) / 10)
    for s in range(model.n_s):
        ps, psi = P.sat_positions(np.array(t), [inst.sn_pass_times[s]], inst.sn_pass_x, inst.sn_track_y,
                                  inst.sn_altitude, inst.sn_ground_speed, inst.sn_earth_radius)
        ps, psi = ps[0], psi[0]
        if float(P.elevation_deg(q, ps)) < inst.sn_min_elevation:
            continue
        u, v, d = P.direction_cosines(q, ps, psi)
        if inst.sn_beam_mode == "area_fixed":
            c = np.array([(inst.area_x_min + inst.area_x_max) / 2, (inst.area_y_min + inst.area_y_max) / 2, 0.0])
            uc, vc, _ = P.direction_cosines(c, ps, psi)
            u, v = u - uc, v - vc
        g = float(A.upa_gain_db(u, v, *inst.sn_array))
        pl = float(P.pl_sat(d, inst.sn_fc, inst.channel_scintillation_db, inst.channel_polarization_loss_db))
        p[model.n_t + s] = 10 ** ((inst.sn_tx_power + g + inst.uav_antenna_gain - pl) / 10)
    rates = np.zeros(model.n_bs)
    for b in range(model.n_bs):
        hb = model.h_los[:, b] if los[b] else model.h_nlos[:, b]
        interference = np.zeros(model.h_los.shape[0])
        for i in range(model.n_bs):
            if i != b and model.network[i] == model.network[b]:
                interference += p[i] * (model.h_los[:, i] if los[i] else model.h_nlos[:, i])
        sinr = p[b] * hb / (interference + model.noise[b])
        rates[b] = model.bandwidth[b] / 1e6 * np.mean(np.log2(1 + sinr))
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="paper-default")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--loop-steps", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="benchmarks/results/sagin_throughput.md")
    args = ap.parse_args()

    inst = generate(load_scenario("sagin", args.preset).params, args.seed, args.preset)
    pos, times = rollout_points(inst)
    n_steps, n_u = pos.shape[0], pos.shape[1]
    q_all = pos.reshape(-1, 3)
    t_all = np.repeat(times, n_u)

    best_vec = math.inf
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        model = radio.RadioModel(inst)
        r_vec = model.rates(q_all, t_all)
        best_vec = min(best_vec, time.perf_counter() - t0)

    best_step = math.inf
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        r_step = np.stack([model.rates(pos[n], times[n]) for n in range(n_steps)])
        best_step = min(best_step, time.perf_counter() - t0)
    assert np.array_equal(r_step.reshape(-1, r_vec.shape[1]), r_vec)

    k = min(args.loop_steps, n_steps)
    t0 = time.perf_counter()
    r_loop = np.array([[loop_rates(inst, model, pos[n, u], times[n]) for u in range(n_u)] for n in range(k)])
    loop_s = time.perf_counter() - t0
    ref = r_vec.reshape(n_steps, n_u, -1)[:k]
    err = float(np.max(np.abs(r_loop - ref) / np.maximum(np.abs(ref), 1e-12)))
    assert err < 1e-9, f"vectorized and loop rates disagree (max relative error {err:.3g})"

    n_pts = q_all.shape[0]
    vec_per_pt = best_vec / n_pts
    loop_per_pt = loop_s / (k * n_u)
    speedup = loop_per_pt / vec_per_pt
    step_per_pt = best_step / n_pts
    speedup_step = loop_per_pt / step_per_pt
    lines = [
        "# sagin: rollout-style rate evaluation, vectorized vs per-step/per-BS loop",
        "",
        f"`python benchmarks/sagin_throughput.py --preset {args.preset} --seed {args.seed} "
        f"--loop-steps {args.loop_steps} --repeat {args.repeat}`",
        "",
        f"Preset `{args.preset}`, seed {args.seed}: {n_u} UAVs x {n_steps} positions (straight-line rollout, "
        f"N_max = {inst.uav_max_steps}), B_tot = {inst.n_bs} links, J = {inst.channel_n_draws} draws, "
        f"{inst.building_centers.shape[0]} buildings.",
        "",
        "| backend | points | wall (s) | per point (ms) | per rollout step, all UAVs (ms) |",
        "|---|---:|---:|---:|---:|",
        f"| vectorized `RadioModel.rates` (model build included, best of {args.repeat}) | {n_pts} | "
        f"{best_vec:.3f} | {1e3 * vec_per_pt:.4f} | {1e3 * vec_per_pt * n_u:.3f} |",
        f"| vectorized, one call per rollout step ({n_u} UAVs x {inst.n_bs} BSs x J), best of {args.repeat} | "
        f"{n_pts} | {best_step:.3f} | {1e3 * step_per_pt:.4f} | {1e3 * step_per_pt * n_u:.3f} |",
        f"| Python loop per step, UAV, BS (first {k} steps) | {k * n_u} | {loop_s:.3f} | "
        f"{1e3 * loop_per_pt:.3f} | {1e3 * loop_per_pt * n_u:.2f} |",
        "",
        f"Speed-up: **{speedup:.0f}x** all points in one call, **{speedup_step:.0f}x** one call per step "
        f"(target >= 20x). Max relative difference on the looped points: {err:.1e}.",
        "",
        f"Machine: {platform.platform()}, Python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs (shared with other jobs; single-threaded numpy path).",
        "",
    ]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
