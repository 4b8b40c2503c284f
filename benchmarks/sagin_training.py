"""One sagin learner at a budget (default ddqn-csac, `paper`: 3000 episodes), its
training time and what it reaches on `ref-small` (fraction of the lattice optimum) and `paper-default`.

    python benchmarks/sagin_training.py --method ddqn-csac --budget paper --seed 0 \
        --out benchmarks/results/sagin_training_paper.md
    python benchmarks/sagin_training.py --checkpoint PATH.pt ...      # score a model trained earlier

Trains on paper-default of instance seed --seed (or loads the cached / given checkpoint), then scores the
deterministic policy with the exact backend on the same seed's `paper-default` and `ref-small` test starts, with
lattice-dp as the reference on ref-small (§6.5 per UAV against J*_L). Writes a markdown table.
Section (§) numbers refer to docs/families/sagin.md.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def curve_summary(curve: list[dict], window: int = 100) -> dict:
    """Means of the first and last `window` episodes of the training curve."""
    out = {}
    for key in ("return_low", "return_top", "success", "steps", "mu_qos", "mu_bnd", "alpha"):
        values = np.array([c[key] for c in curve if key in c], dtype=float)
        if values.size:
            out[key] = (float(values[:window].mean()), float(values[-window:].mean()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="ddqn-csac")
    parser.add_argument("--budget", default="paper")
    parser.add_argument("--seed", type=int, default=0, help="instance seed = learner seed (§6.4)")
    parser.add_argument("--checkpoint", default=None, help="score this checkpoint instead of training")
    parser.add_argument("--out", default="bench-out/sagin_training.md")
    args = parser.parse_args()

    import importlib

    import optkit
    from optkit import registry
    from optkit.learners import checkpoint as ckpt

    if args.checkpoint is None:
        module, _, name = registry.get_method("sagin", args.method).train.partition(":")
        train = getattr(importlib.import_module(module), name)
        path = train("sagin", "paper-default", seed=0, budget=args.budget, base_seed=args.seed)["path"]
    else:
        path = args.checkpoint
    _, meta = ckpt.load_checkpoint(path)
    rows = []
    for scenario in ("paper-default", "ref-small"):
        inst = optkit.make_instance("sagin", scenario, args.seed)
        start = time.perf_counter()
        sol = optkit.solve(inst, args.method, seed=int(meta["seed"]), checkpoint=str(path))
        ref = optkit.solve(inst, "lattice-dp") if scenario == "ref-small" else None
        ev = optkit.evaluate(inst, sol, reference=ref)
        m = ev.metrics
        rows.append((scenario, m, time.perf_counter() - start))
    summary = curve_summary(meta["curve"])
    env_steps = int(meta.get("env_steps") or sum(c["steps"] for c in meta["curve"]))
    lines = [f"# `{args.method}` at budget `{meta['budget']}`, instance seed {args.seed}", "",
             f"Checkpoint `{Path(path).name}`; trained {meta['created']} on `{meta['preset']}` "
             f"({meta['episodes']} episodes, backend {meta.get('backend')}).", "",
             "| training | value |", "|---|---:|",
             f"| wall time | {meta['train_s'] / 60:.1f} min |",
             f"| environment steps | {env_steps} |",
             f"| gradient steps per level | {meta.get('grad_steps')} |",
             f"| ms per environment step | {1e3 * meta['train_s'] / max(env_steps, 1):.2f} |"]
    for key, (first, last) in summary.items():
        lines.append(f"| {key}: first / last 100 episodes | {first:.3f} / {last:.3f} |")
    lines += ["", "| scenario | J | frac_ref (J / J*_L per UAV) | gap_ref | rate Mbit/s | switches | QSR % | T s "
              "| success | decision s |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for scenario, m, seconds in rows:
        lines.append(f"| {scenario} | {m['objective']:.3f} | {m['frac_ref']:.3f} | {m['gap_ref']:.3f} "
                     f"| {m['rate_mbps']:.2f} | {m['switches']:.2f} | {m['qsr_pct']:.1f} | {m['flight_time_s']:.1f} "
                     f"| {m['success']:.3f} | {seconds:.1f} |")
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    Path(args.out).with_suffix(".json").write_text(json.dumps(
        {"train": {k: meta[k] for k in ("train_s", "episodes", "budget", "seed")} | {"env_steps": env_steps},
         "scores": {sc: m for sc, m, _ in rows}}, indent=1, default=float))
    print(text)


if __name__ == "__main__":
    main()
