"""leo-handover methods: handovers against the provably minimal schedule, training time.

    python benchmarks/leo_methods.py --scenario paper-default --method-seeds 0-1 --budget paper --jobs 2 \
        --out benchmarks/results/leo_methods_paper_default

Runs `optkit bench` (learners trained at --budget on first use; the checkpoint cache makes reruns cheap) into OUT,
writes OUT/report.md with figures and OUT/targets.md: per method the mean handovers H over the test episodes,
the ratio H / H(offline-minho) (target for dqn: <= 1.25), the ratio to `mrt`, link duration, reward, the
fractions of the offline optimum (eta_ho, eta_ld, eta_g), the decision time and the training time with its
decision and gradient steps.
"""
from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_METHODS = ("offline-minho,offline-dp,mrt,sticky-nearest,distance,max-elevation,score-greedy,random,"
                   "sarsa,qlearning,dqn")


def training_steps(out: Path) -> dict:
    """method -> (decision steps, gradient steps) of the first training curve stored for it (from the checkpoint
    metadata the rows do not hold: the runner keeps only the curve)."""
    found = {}
    for path in sorted((out / "curves").glob("*.csv")):
        import pandas as pd

        frame = pd.read_csv(path)
        method = str(frame["method"].iloc[0])
        found.setdefault(method, int(frame["steps"].sum()))
    return found


def targets_table(df, out: Path) -> str:
    ok = df[df["status"] != "error"]
    minho = ok[ok["method"] == "offline-minho"]["handovers"].mean()
    mrt = ok[ok["method"] == "mrt"]["handovers"].mean()
    steps = training_steps(out)
    lines = ["| method | config | runs | H | H / H_min | H / H(mrt) | f_HO | LD | T_link s | G | eta_ho | eta_ld | eta_g "
             "| decision s | train s | decision steps trained |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (method, config), rows in ok.groupby(["method", "config"], sort=False):
        h = rows["handovers"].mean()
        lines.append(
            f"| {method} | {config or '-'} | {len(rows)} | {h:.2f} | {h / minho:.3f} | {h / mrt:.3f} "
            f"| {rows['handover_freq'].mean():.5f} | {rows['link_duration'].mean():.4f} "
            f"| {rows['link_duration_s'].mean():.1f} | {rows['reward'].mean():.1f} | {rows['eta_ho'].mean():.3f} "
            f"| {rows['eta_ld'].mean():.3f} | {rows['eta_g'].mean():.3f} | {rows['decision_s'].mean():.2f} "
            f"| {rows['train_s'].max():.0f} | {steps.get(method, '-')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="paper-default")
    parser.add_argument("--methods", default=DEFAULT_METHODS)
    parser.add_argument("--method-seeds", default="0")
    parser.add_argument("--budget", default="paper")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="bench-out/leo_methods")
    args = parser.parse_args()

    import optkit
    from optkit.report import write_report

    df = optkit.benchmark("leo-handover", args.scenario, methods=args.methods, seeds="0",
                          method_seeds=args.method_seeds, out=args.out, jobs=args.jobs, budget=args.budget,
                          progress=True)
    write_report(args.out)
    out = Path(args.out)
    revision = str(df["git_rev"].iloc[0]) if "git_rev" in df and len(df) else ""
    text = (f"# leo-handover methods on `{args.scenario}` (base seed 0, run seeds {args.method_seeds}, budget "
            f"{args.budget}, {args.jobs} processes, revision {revision or 'unknown'})\n\n"
            + targets_table(df, out))
    (out / "targets.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
