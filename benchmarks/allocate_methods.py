"""Every allocate method against the exact reference `allocate` (docs/families/allocate.md §6.4, §8, §9).

    python benchmarks/allocate_methods.py --scenario small --seeds 0-4 --time-limit 300 --budget quick --jobs 2 \
        --out benchmarks/results/allocate_methods_small

Runs `optkit bench` (all methods, the learners trained at --budget on the training seeds on first use) into OUT,
writes OUT/report.md with figures through `optkit report`, and OUT/targets.md: per method the mean efficiency
ratio to the reference (frac_opt), the objective ratio (frac_opt_of), the optimistic ratio against the
reference's dual bound (frac_bound), and the ratio of the reference's decision time to the method's. The
reference's own status and gap per instance are listed, since a time-limited incumbent is not an optimum.
"""
from __future__ import annotations

import argparse
from pathlib import Path


def targets_table(df, reference: str) -> str:
    ok = df[df["status"] != "error"]
    ref = ok[ok["method"] == reference].set_index(["scenario", "point", "seed"])
    lines = ["| method | n | acc_pct | objective | frac_opt (efficiency) | frac_opt_of (objective) | frac_bound "
             "| decision s / episode | reference time / method time | train s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for method, rows in ok.groupby("method", sort=False):
        ref_time = ref.loc[[tuple(k) for k in rows[["scenario", "point", "seed"]].values if tuple(k) in ref.index],
                           "decision_s"]
        ratio = ref_time.mean() / rows["decision_s"].mean() if len(ref_time) else float("nan")
        lines.append(f"| {method} | {len(rows)} | {rows['acc_pct'].mean():.1f} | {rows['objective'].mean():.3f} "
                     f"| {rows['frac_opt'].mean():.3f} | {rows['frac_opt_of'].mean():.3f} "
                     f"| {rows['frac_bound'].mean():.3f} | {rows['decision_s'].mean():.3g} | {ratio:.3g} "
                     f"| {rows['train_s'].max():.0f} |")
    lines += ["", "Reference per instance:", "", "| seed | status | objective | bound | gap |", "|---:|---|---:|---:|---:|"]
    for (scenario, point, seed), r in ref.iterrows():
        lines.append(f"| {seed} | {r['status']} | {r['objective']:.4f} | {r['bound']:.4f} | {r['gap']:.2e} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="small")
    parser.add_argument("--seeds", default="0-4")
    parser.add_argument("--methods", default="all")
    parser.add_argument("--time-limit", type=float, default=300.0)
    parser.add_argument("--budget", default="quick")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="bench-out/allocate_methods")
    args = parser.parse_args()

    import optkit
    from optkit import registry
    from optkit.report import write_report

    df = optkit.benchmark("allocate", args.scenario, methods=args.methods, seeds=args.seeds, out=args.out,
                          jobs=args.jobs, time_limit=args.time_limit, budget=args.budget, progress=True)
    write_report(args.out)
    reference = registry.get_family("allocate").reference_method
    text = (f"# allocate methods on `{args.scenario}` seeds {args.seeds} (budget {args.budget}, reference time "
            f"limit {args.time_limit:g} s, {args.jobs} processes)\n\n" + targets_table(df, reference))
    Path(args.out, "targets.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
