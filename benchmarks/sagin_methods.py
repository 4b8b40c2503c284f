"""sagin methods: fraction of the lattice optimum on `ref-small`, training time.

    python benchmarks/sagin_methods.py --budget fast --seeds 0-2 --jobs 2 --out benchmarks/results/sagin_ref_small_fast

Runs `optkit bench` on `ref-small` (the 32 test starts of paper-default snapped to the 200 m lattice; learners are
trained on paper-default of the same seed, docs/families/sagin.md §3.4, on first use and cached) into OUT, writes
OUT/report.md with the figures and OUT/targets.md: per method the objective J, its fraction of the lattice optimum
(frac_ref = mean over the UAVs of J_u / J*_L,u, §6.5, per seed; target for ddqn-csac: >= 0.95), the four metrics of
the paper, the decision time and, for learners, the training time with its environment steps and seconds per
environment step.
"""
from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_METHODS = "lattice-dp,sl,graph,ddqn-csac,drl"


def training_steps(out: Path) -> dict:
    """(method, instance seed, method seed) -> environment steps of that training run (sum of the curve's steps)."""
    import pandas as pd

    found = {}
    for path in sorted((out / "curves").glob("*.csv")):
        frame = pd.read_csv(path)
        key = (str(frame["method"].iloc[0]), int(frame["seed"].iloc[0]), int(frame["method_seed"].iloc[0]))
        found[key] = int(frame["steps"].sum())
    return found


def targets_table(df, out: Path) -> str:
    ok = df[df["status"] != "error"]
    steps = training_steps(out)
    lines = ["| method | seeds | J | frac_ref (per seed) | rate Mbit/s | switches | QSR % | T s | success | decision s "
             "| train s (max) | env steps (all runs) | ms / env step |",
             "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for method, rows in ok.groupby("method", sort=False):
        per_seed = ", ".join(f"{v:.3f}" for v in rows.sort_values("seed")["frac_ref"])
        runs = [(r.train_s, steps.get((method, int(r.seed), int(r.method_seed)), 0)) for r in rows.itertuples()]
        n_steps = sum(n for _, n in runs)
        per_step = f"{1e3 * sum(t for t, _ in runs) / n_steps:.2f}" if n_steps else "-"
        lines.append(
            f"| {method} | {len(rows)} | {rows['objective'].mean():.3f} | {rows['frac_ref'].mean():.3f} ({per_seed}) "
            f"| {rows['rate_mbps'].mean():.2f} | {rows['switches'].mean():.2f} | {rows['qsr_pct'].mean():.1f} "
            f"| {rows['flight_time_s'].mean():.1f} | {rows['success'].mean():.3f} | {rows['decision_s'].mean():.2f} "
            f"| {rows['train_s'].max():.0f} | {n_steps or '-'} | {per_step} |")
    failed = df[df["status"] == "error"]
    notes = [f"- {r.method} seed {r.seed}: {r.message}" for r in failed.itertuples()]
    return "\n".join(lines + ([""] + ["Failed cells:"] + notes if notes else [])) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="ref-small")
    parser.add_argument("--methods", default=DEFAULT_METHODS)
    parser.add_argument("--seeds", default="0-2", help="instance seeds (= learner seeds, §6.4)")
    parser.add_argument("--budget", default="fast")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="bench-out/sagin_methods")
    args = parser.parse_args()

    from optkit.bench import benchmark
    from optkit.report import write_report

    out = Path(args.out)
    df = benchmark("sagin", args.scenario, methods=args.methods, seeds=args.seeds, budget=args.budget,
                   jobs=args.jobs, out=out, progress=True)
    write_report(out)
    text = (f"# sagin methods on `{args.scenario}`, budget `{args.budget}`, seeds {args.seeds}\n\n"
            "frac_ref = mean over the test UAVs of J_u / J*_L,u (J*_L: the lattice-dp value of the UAV's start, "
            "docs/families/sagin.md §6.5); learners trained on paper-default of the same seed.\n\n"
            + targets_table(df, out))
    (out / "targets.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
