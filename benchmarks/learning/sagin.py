"""Learning checks of the `sagin` learners (docs/families/sagin.md D47-D52, check 33b, 33c; ARCHITECTURE.md
"Learners must demonstrably learn").

    python benchmarks/learning_checks.py --family sagin            # the published tables
    python benchmarks/learning_checks.py --family sagin --quick    # check-1uav and before/after only
    python benchmarks/learning/sagin.py train ddqn-csac check-1uav 0 paper    # train one model into CKPT_DIR

Trained models are stored under $OPTKIT_LEARNING_CKPT (default ~/.cache/optkit/learning-checks/sagin) by
(method, preset, seed, budget) and reused: the tables are computed from those checkpoints (`solve(...,
checkpoint=...)`), so a rerun only evaluates. Delete the folder to retrain.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import optkit
from optkit.formulations.sagin.evaluator import with_reference

INTRO = """\
Tables: (1) `check-1uav` learning gate (D50, check 33b): one UAV, its fixed start, 100 training episodes, the
deterministic rollout from that start; `ddqn-csac` passes when it arrives, μ_bnd ≤ 1 at the end and not monotone over
the last 50 episodes, and the training success over the last 20 episodes is ≥ 0.9. (2) Before vs after (33c a):
after the `quick` budget on `quick` seed 0, the deterministic policy against its own untrained deterministic policy
and a uniformly random policy, on the 32 validation starts of `rng_val` (exact backend). (3) `ref-small` at the `fast`
budget (E = 300, trained on `paper-default` of the same seed): J (D49) and `J_paper` as fractions of the lattice
optimum J*_L, arrival share, and per-method means. (4) Training time: measured wall and CPU seconds of the `fast`
runs and the `paper` budget (E = 3000) extrapolated from them (seconds per environment step times the steps of
3000 episodes at the mean episode length of the last quarter of the `fast` run)."""

CKPT_DIR = Path(os.environ.get("OPTKIT_LEARNING_CKPT", Path.home() / ".cache" / "optkit" / "learning-checks" / "sagin"))
LEARNERS = ("ddqn-csac", "drl")


# ------------------------------------------------------------------------------------------------ models
def checkpoint(method: str, preset: str, seed: int, budget: str) -> Path:
    """Stem of the stored model of (method, training preset, seed, budget); trains it on a miss (wall, CPU s in
    <stem>.time)."""
    stem = CKPT_DIR / f"{method}--{preset}--s{seed}--{budget}"
    if not Path(str(stem) + ".json").is_file():
        from optkit import registry

        train = registry.get_method("sagin", method).load_train()
        wall, cpu = time.perf_counter(), time.process_time()
        train("sagin", preset, base_seed=seed, seed=0, budget=budget, out=str(stem), progress=True)
        Path(str(stem) + ".time").write_text(f"{time.perf_counter() - wall} {time.process_time() - cpu}")
    return stem


def train_times(stem: Path) -> tuple[float, float]:
    """(wall s, CPU s) of the training run that wrote the checkpoint (NaN when not measured here)."""
    path = Path(str(stem) + ".time")
    if not path.is_file():
        return float("nan"), float("nan")
    wall, cpu = (float(x) for x in path.read_text().split())
    return wall, cpu


def solve(inst, method: str, budget: str, train_preset: str):
    """Solution of a learner from its stored checkpoint (trained on `train_preset`, seed = instance seed)."""
    stem = checkpoint(method, train_preset, int(inst.seed), budget)
    return optkit.solve(inst, method, seed=0, budget=budget, checkpoint=str(stem) + ".pt")


# ------------------------------------------------------------------------------------------------ check-1uav
def check_1uav() -> pd.DataFrame:
    """D50 gate (check 33b) for ddqn-csac, drl beside, sl as the reference."""
    inst = optkit.make_instance("sagin", "check-1uav", 0)
    rows = []
    for method in (*LEARNERS, "sl"):
        sol = optkit.solve(inst, "sl") if method == "sl" else solve(inst, method, "paper", "check-1uav")
        ev = optkit.evaluate(inst, sol)
        end = sol.decisions.positions[0][-1]
        row = {"method": method, "success": ev.metrics["success"], "J": ev.metrics["objective"],
               "J_paper": ev.metrics["objective_paper"],
               "final_dist_m": float(np.linalg.norm(end - np.asarray(inst.uav_destination))),
               "floor_proj": ev.metrics["floor_projections"], "boundary": ev.metrics["boundary_events"]}
        curve = sol.info.get("curve") or []
        if curve:
            mu = np.array([r["mu_bnd"] for r in curve])
            tail = mu[-50:]
            row.update(train_success_last20=float(np.mean([r["success"] for r in curve[-20:]])),
                       mu_bnd_end=float(mu[-1]), mu_bnd_monotone_last50=bool(np.all(np.diff(tail) > 0)),
                       episodes=len(curve))
            if method == "ddqn-csac":
                row["passes"] = bool(row["success"] == 1.0 and row["mu_bnd_end"] <= 1.0
                                     and not row["mu_bnd_monotone_last50"] and row["train_success_last20"] >= 0.9)
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ before vs after
def _fly(inst, agent, starts, epsilon=None, rng=None):
    """Exact-backend rollout of `agent` (deterministic) or of uniform random actions (rng given) from starts."""
    from optkit.formulations.sagin.env import SaginEnv

    env = SaginEnv(inst, "exact")
    env.reset(starts)
    while not env.done:
        idx = np.flatnonzero(env.active)
        if rng is None:
            act = agent.act(env, idx, epsilon)
            env.step(act["top"], act["direction"], act["target"])
        else:
            top = np.zeros(env.n_uavs, dtype=np.int64)
            top[idx] = rng.integers(0, 2, idx.size)
            mask = env.candidate_mask()
            target = np.array([rng.choice(np.flatnonzero(m)) if m.any() else 0 for m in mask])
            top[~mask.any(axis=1)] = 0
            env.step(top, rng.normal(size=(env.n_uavs, 3)), target)
    return env.summary()


def before_after(methods=LEARNERS) -> pd.DataFrame:
    """33c (a): trained (quick budget) vs untrained deterministic vs random on 32 validation starts of quick seed 0."""
    from optkit.formulations.sagin.generator import validation_starts
    from optkit.learners import checkpoint as ckpt
    from optkit.learners.sagin import ddqn_csac, drl

    inst = optkit.make_instance("sagin", "quick", 0)
    starts = validation_starts(inst, 32)
    rnd = _fly(inst, None, starts, rng=np.random.default_rng(0))
    rows = [{"policy": "random", "J": float(rnd["objective"].mean()), "success": float(rnd["success"].mean()),
             "J_paper": float(rnd["objective_paper"].mean())}]
    for method in methods:
        states, meta = ckpt.load_checkpoint(str(checkpoint(method, "quick", 0, "quick")) + ".pt")
        module = drl if method == "drl" else ddqn_csac
        untrained = module.Agent(module.config_of(meta["config"]), inst.n_bs + 4, 0, 0, buffer=1)
        before = _fly(inst, untrained, starts)
        trained = module.greedy_policy(meta["config"], inst.n_bs + 4, 0, 0, states["model"])
        after = _fly(inst, trained, starts)
        for label, s in (("untrained", before), ("trained", after)):
            rows.append({"policy": f"{method} {label}", "J": float(s["objective"].mean()),
                         "success": float(s["success"].mean()), "J_paper": float(s["objective_paper"].mean())})
        d_un, d_rnd = after["objective"] - before["objective"], after["objective"] - rnd["objective"]
        rows[-1].update(dJ_vs_untrained=float(d_un.mean()), wins_vs_untrained=int((d_un > 0).sum()),
                        dJ_vs_random=float(d_rnd.mean()), wins_vs_random=int((d_rnd > 0).sum()))
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ ref-small
def ref_small(seeds, budget: str = "fast") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per (seed, method): J, J_paper as fractions of J*_L, success; and the means over seeds."""
    rows = []
    for seed in seeds:
        inst = optkit.make_instance("sagin", "ref-small", seed)
        ref = optkit.evaluate(inst, optkit.solve(inst, "lattice-dp"))
        for method in (*LEARNERS, "sl"):
            sol = optkit.solve(inst, "sl") if method == "sl" else solve(inst, method, budget, "paper-default")
            ev = with_reference(optkit.evaluate(inst, sol), ref)
            m = ev.metrics
            rows.append({"seed": seed, "method": method, "success": m["success"], "J": m["objective"],
                         "J_paper": m["objective_paper"], "frac_J": m["frac_ref"], "frac_J_paper": m["frac_ref_paper"],
                         "J_star_L": float(np.mean(ref.details["lattice_values"])) if ref.details.get("lattice_values")
                         else float("nan"), "qsr": m["qsr"], "switches": m["switches"],
                         "floor_proj": m["floor_projections"], "boundary": m["boundary_events"]})
    per_seed = pd.DataFrame(rows)
    means = per_seed.drop(columns="seed").groupby("method", sort=False).mean().reset_index()
    return per_seed, means


def training_time(seeds, budget: str = "fast", paper_episodes: int = 3000) -> pd.DataFrame:
    """Measured wall/CPU of the fast runs and the paper-budget extrapolation (labelled as such)."""
    from optkit.learners import checkpoint as ckpt

    rows = []
    for seed in seeds:
        for method in LEARNERS:
            stem = checkpoint(method, "paper-default", seed, budget)
            _, meta = ckpt.load_checkpoint(str(stem) + ".pt")
            wall, cpu = train_times(stem)
            curve = meta["curve"]
            steps = np.array([r["steps"] for r in curve], dtype=float)
            per_step_wall = meta["train_s"] / max(meta["env_steps"], 1)
            per_step_cpu = cpu / max(meta["env_steps"], 1)
            tail = steps[-max(1, len(steps) // 4):].mean()
            paper_steps = paper_episodes * tail
            rows.append({"seed": seed, "method": method, "episodes": len(curve), "env_steps": meta["env_steps"],
                         "wall_s": wall, "cpu_s": cpu, "ms_per_step_cpu": 1e3 * per_step_cpu,
                         "paper_estimate_min_cpu": paper_steps * per_step_cpu / 60.0,
                         "paper_estimate_min_wall": paper_steps * per_step_wall / 60.0})
    return pd.DataFrame(rows)


def validation_noise(curve: list[dict]) -> float:
    """2·sqrt(se_best² + max se²) of the greedy validation J: se at the best validation point and the largest se over
    the last 25 % of training (val_objective_se of the D52 monitor)."""
    from optkit.learners.monitors import tail

    rows = [r for r in curve if "val_objective" in r]
    best = max(rows, key=lambda r: r["val_objective"])
    tail_se = [r["val_objective_se"] for r in tail(curve) if "val_objective" in r] or [0.0]
    return 2.0 * float(np.hypot(best["val_objective_se"], max(tail_se)))


def monitors_table() -> pd.DataFrame:
    """No-collapse monitors (33c d, learners/monitors.py) on the training curve of every stored model: the return is
    not constant, μ_qos and μ_bnd are not only growing, and over the last 25 % of training the greedy validation J
    does not fall below its best by more than the larger of 10 % of the best's magnitude and twice the standard error
    of the difference (sqrt(se_best² + se_tail²), se over the 32 validation starts): a drop must exceed the
    validation's own noise to count."""
    from optkit.learners import checkpoint as ckpt
    from optkit.learners import monitors as mon

    rows = []
    for path in sorted(CKPT_DIR.glob("*.json")):
        _, meta = ckpt.load_checkpoint(str(path)[:-5] + ".pt")
        curve = meta["curve"]
        method, preset, seed, budget = path.stem.split("--")
        val = [r["val_objective"] for r in curve if "val_objective" in r]
        checks = [mon.flat_return(curve, "return"), mon.monotone_multiplier(curve, "mu_qos"),
                  mon.monotone_multiplier(curve, "mu_bnd")]
        noise = float("nan")
        if val:
            noise = validation_noise(curve)
            checks.append(mon.validation_drop(curve, "val_objective", max(0.1 * abs(max(val)), noise)))
        row = {"method": method, "preset": preset, "seed": seed, "budget": budget, "episodes": len(curve)}
        row.update({f"{m.name}{'_' + k if m.name == 'monotone_multiplier' else ''}": ("ok" if m.ok else "FAIL")
                    + f" ({m.value:.3g})" for m, k in zip(checks, ("", "mu_qos", "mu_bnd", ""))})
        row.update(val_J_best=max(val) if val else float("nan"), val_J_last=val[-1] if val else float("nan"),
                   val_J_noise_2se=noise,
                   val_success_last=[r["val_success"] for r in curve if "val_success" in r][-1] if val else float("nan"))
        rows.append(row)
    return pd.DataFrame(rows)


def run(quick: bool) -> list[tuple[str, pd.DataFrame]]:
    sections = [("check-1uav learning gate (D50, check 33b)", check_1uav()),
                ("Before vs after on quick seed 0, 32 validation starts (33c a)", before_after())]
    if not quick:
        seeds = tuple(int(s) for s in os.environ.get("OPTKIT_SAGIN_SEEDS", "0,1,2").split(","))
        budget = os.environ.get("OPTKIT_SAGIN_BUDGET", "fast")
        per_seed, means = ref_small(seeds, budget)
        sections += [(f"ref-small, `{budget}` budget: means over seeds {list(seeds)}", means),
                     (f"ref-small, `{budget}` budget: per seed", per_seed),
                     (f"Training time (`{budget}` measured; paper extrapolated)", training_time(seeds, budget))]
    sections.append(("No-collapse monitors of the stored training curves (33c d)", monitors_table()))
    return sections


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "train":           # train one model: method preset seed budget
        method, preset, seed, budget = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
        from optkit.learners.training import single_thread

        with single_thread():
            print(checkpoint(method, preset, seed, budget))
    else:
        raise SystemExit("use benchmarks/learning_checks.py --family sagin, or: train METHOD PRESET SEED BUDGET")
