"""Learning checks of the allocate learners (docs/families/allocate.md §10 "Learning checks", Decisions D35, D36).

On preset `online` (D26, predictable issuance D27), evaluation seeds 0..19 (never used for tuning; validation
seeds 5000 + j select the checkpoints, training seeds are 10 000 + e), the learners trained at the `quick` budget
(`--quick`: the `smoke` budget and seeds 0..4):

1. totals per row: accepted requests (total over the seeds) beside acc_pct and the objective;
2. the orderings of D35 and the before/after checks, paired over seeds with 95 % bootstrap intervals
   (A > B: the interval of mean(A - B) lies above 0; A >= B: its lower end is >= -0.5);
3. `perfect` against the `fixed-ceiling` pipeline (clairvoyant UAV areas + placement rule), and rule-in-the-loop
   parity of every learned part against its rule stand-in in the same pipeline (target >= 0.9);
4. the training monitors (ε floor, selected checkpoint, STOP-only, flat return, validation drop) and the gap
   between the training-mode score and the greedy validation score;
5. the greedy validation curve beside the training-mode curve.

Checkpoints: trained through the checkpoint cache on first use; with OPTKIT_LEARNING_CHECKPOINTS=DIR the models
are read from DIR/<row file>.pt (written by `optkit train -f allocate -m <method> -s online --budget quick -o ...`),
which keeps a measurement reproducible while the family's code version moves.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from learning import cpu_clock, paired_bootstrap, verdict

FAMILY = "allocate"
PRESET = "online"
COMMAND = "python benchmarks/learning_checks.py --family allocate"
INTRO = __doc__.split("\n", 1)[1].strip()
MARGIN = 0.5          # D35: A >= B when the lower end of the paired interval is >= -0.5


def _trained(model_cls, method: str, sources, budget: str, file: str):
    """(states, meta) of the model of (online, method, budget, seed 0): from $OPTKIT_LEARNING_CHECKPOINTS/<file>.pt
    when that exists, else the cached model (trained on a miss)."""
    from optkit.learners import checkpoint
    from optkit.learners.allocate import runner

    folder = os.environ.get("OPTKIT_LEARNING_CHECKPOINTS")
    if folder and checkpoint.exists(Path(folder) / file):
        states, meta = checkpoint.load_checkpoint(Path(folder) / file)
        if meta["method"] != method or meta["preset"] != PRESET or meta["budget"] != budget:
            raise SystemExit(f"{folder}/{file}: holds {meta['method']} {meta['preset']} {meta['budget']}")
        return states["model"], meta
    if file != method:
        return None, None                               # a diagnostic row that exists only as a stored checkpoint
    got = runner._obtain(model_cls, method, sources, PRESET, 0, budget, None, None, None, True)
    return got["states"]["model"], got["meta"]


def _model(model_cls, method: str, config: dict, states, inst):
    """A fresh model for one evaluation episode (states None: the untrained network of training seed 0)."""
    from optkit.learners import harness
    from optkit.learners.allocate import runner
    from optkit.seeds import method_stream

    model = model_cls(runner.dims(inst), harness.config_from(model_cls.Config, config),
                      method_stream(inst.seed, method, 0))
    if states is not None:
        model.load_state_dict(states)
    return model


def _score(env) -> dict:
    m = env.evaluation().metrics
    return {"accepted": m["accepted"], "objective": m["objective"], "acc_pct": m["acc_pct"]}


def _evaluate(seeds, learners: dict) -> pd.DataFrame:
    """One row per (row name, seed): accepted, objective, acc_pct, decision CPU seconds."""
    import optkit
    from optkit.heuristics.allocate import random_baseline, sca
    from optkit.learners.allocate.haddqn import HaDDQN
    from optkit.learners.allocate.perfect import Perfect
    from optkit.learners.training import deterministic

    rows = []
    for seed in seeds:
        inst = optkit.make_instance(FAMILY, PRESET, seed)

        def add(name, fn):
            start = time.process_time()
            rec = fn()
            rows.append({"row": name, "seed": seed, **rec, "cpu_s": time.process_time() - start})

        for row, (method, states, config) in learners.items():
            cls = Perfect if method.startswith("perfect") else HaDDQN
            with deterministic(0):
                add(row, lambda: _score(_model(cls, method, config, states, inst).episode(inst, train=False)[0]))
            if row != method:
                continue
            if method == "perfect":
                with deterministic(0):
                    add("perfect (untrained)", lambda: _score(
                        _model(cls, method, config, None, inst).episode(inst, train=False)[0]))
                with deterministic(0):
                    add("stay + perfect PL", lambda: _score(_model(cls, method, config, states, inst).episode(
                        inst, train=False, uav_rule="stay")[0]))
                with deterministic(0):
                    add("perfect TP + rule PL", lambda: _score(_model(cls, method, config, states, inst).episode(
                        inst, train=False, pl_rule=True)[0]))
                with deterministic(0):
                    add("rule-stay", lambda: _score(_model(cls, method, config, None, inst).episode(
                        inst, train=False, uav_rule="stay", pl_rule=True)[0]))
                with deterministic(0):
                    add("fixed-ceiling", lambda: _score(_model(cls, method, config, None, inst).episode(
                        inst, train=False, uav_rule="ceiling", pl_rule=True)[0]))
            if method == "haddqn":
                with deterministic(0):
                    add("haddqn (untrained)", lambda: _score(
                        _model(cls, method, config, None, inst).episode(inst, train=False)[0]))
                with deterministic(0):
                    add("haddqn + rule PL", lambda: _score(_model(cls, method, config, None, inst).episode(
                        inst, train=False, pl_rule=True)[0]))
        add("sca", lambda: _score_solution(inst, sca.solve(inst)))
        add("random", lambda: _score_solution(inst, random_baseline.solve(inst)))
    return pd.DataFrame(rows)


def _score_solution(inst, sol) -> dict:
    import optkit

    m = optkit.evaluate(inst, sol).metrics
    return {"accepted": m["accepted"], "objective": m["objective"], "acc_pct": m["acc_pct"]}


def _totals(df: pd.DataFrame, n_requests: int, train: dict) -> pd.DataFrame:
    out = []
    random_obj = df[df.row == "random"].objective.mean()
    for name, g in df.groupby("row", sort=False):
        info = train.get(name, {})
        out.append({"row": name, "seeds": len(g), "accepted": int(g.accepted.sum()),
                    "offered": n_requests * len(g), "acc_pct": g.acc_pct.mean(),
                    "objective": g.objective.mean(), "objective_std": g.objective.std(ddof=1),
                    "below_random": "FLAG" if g.objective.mean() < random_obj and name != "random" else "",
                    "train_wall_s": info.get("train_s", float("nan")),
                    "selected_episode": info.get("selected", "")})
    return pd.DataFrame(out)


def _paired(df: pd.DataFrame, pairs) -> pd.DataFrame:
    wide = {m: df.pivot_table(index="seed", columns="row", values=m) for m in ("accepted", "objective")}
    out = []
    for a, rel, b, what in pairs:
        for metric, table in wide.items():
            if a not in table or b not in table:
                continue
            mean, low, high = paired_bootstrap(table[a].to_numpy(), table[b].to_numpy())
            out.append({"check": what, "A": a, "relation": rel, "B": b, "metric": metric, "mean(A-B)": mean,
                        "ci_low": low, "ci_high": high, "pass": "yes" if verdict(low, rel, MARGIN) else "NO"})
    return pd.DataFrame(out)


def _ratios(df: pd.DataFrame) -> pd.DataFrame:
    total = df.groupby("row").accepted.sum()
    obj = df.groupby("row").objective.mean()
    checks = [("perfect vs its ceiling (D35)", "perfect", "fixed-ceiling"),
              ("PL parity: learned PL, UAVs stay", "stay + perfect PL", "rule-stay"),
              ("TP parity: learned TP, rule PL", "perfect TP + rule PL", "rule-stay"),
              ("HaDDQN's DDQN in its pipeline", "haddqn", "haddqn + rule PL"),
              ("rule-stay vs ceiling (reference)", "rule-stay", "fixed-ceiling")]
    out = []
    for what, a, b in checks:
        if a in total and b in total:
            ratio = total[a] / total[b] if total[b] else float("nan")
            out.append({"check": what, "learned": a, "accepted": int(total[a]), "rule": b,
                        "rule_accepted": int(total[b]), "ratio": ratio, "objective": obj[a],
                        "rule_objective": obj[b], "target": 0.9, "pass": "yes" if ratio >= 0.9 else "NO"})
    return pd.DataFrame(out)


def _monitors(meta_by_method: dict, T: int) -> pd.DataFrame:
    from optkit.learners.monitors import flat_return, stop_only, tail, validation_drop

    out = []
    for method, meta in meta_by_method.items():
        curve = meta["curve"]
        n = len(curve)
        eps = [r.get("eps_pl") for r in curve]
        floor = min(eps)
        first_floor = next(i for i, v in enumerate(eps) if v <= floor + 1e-12)
        last = tail(curve)
        train_obj = float(np.mean([r["objective"] for r in last]))
        vals = [r for r in curve if "val_objective" in r]
        sel = meta.get("checkpoint_selection", {})
        monitors = [stop_only(curve, "val_pl_steps", T), flat_return(curve), validation_drop(curve, "val_objective",
                                                                                                MARGIN)]
        out.append({"method": method, "episodes": n, "eps_floor": floor, "floor_at": first_floor / n,
                    "selected_episode": sel.get("selected_episode"),
                    "best_val_objective": max(r["val_objective"] for r in vals),
                    "final_val_objective": vals[-1]["val_objective"],
                    "train_mode_objective_last25": train_obj,
                    **{m.name: ("ok" if m.ok else "TRIPPED") + f" ({m.value:.3g})" for m in monitors}})
    return pd.DataFrame(out)


def _curves(meta_by_method: dict) -> pd.DataFrame:
    out = []
    for method, meta in meta_by_method.items():
        curve = meta["curve"]
        obj = np.array([r["objective"] for r in curve])
        for r in curve:
            if "val_objective" in r:
                e = r["episode"]
                window = obj[max(0, e - 19): e + 1]
                out.append({"method": method, "episode": e + 1, "eps_pl": r.get("eps_pl"),
                            "train_objective_ma20": float(window.mean()), "val_objective": r["val_objective"],
                            "val_accepted": r["val_accepted"], "val_pl_steps": r["val_pl_steps"]})
    return pd.DataFrame(out)


def run(quick: bool) -> list[tuple[str, pd.DataFrame]]:
    import optkit
    from optkit.learners.allocate import haddqn, perfect

    budget = "smoke" if quick else "quick"
    seeds = range(5) if quick else range(20)
    learners, metas, train = {}, {}, {}
    for row, method, cls, sources, file, overrides in (
            ("perfect", "perfect", perfect.Perfect, perfect.SOURCES, "perfect", {}),
            ("haddqn", "haddqn", haddqn.HaDDQN, haddqn.SOURCES, "haddqn", {}),
            ("perfect-literal-hl", "perfect-literal-hl", perfect.Perfect, perfect.SOURCES, "perfect-literal-hl", {}),
            ("haddqn-literal", "haddqn-literal", haddqn.HaDDQN, haddqn.SOURCES, "haddqn-literal", {}),
            ("haddqn, flat actions (D34 a-c)", "haddqn", haddqn.HaDDQN, haddqn.SOURCES, "haddqn-flat",
             {"action_space": "flat"})):
        clock: dict = {}
        with cpu_clock(clock):
            states, meta = _trained(cls, method, sources, budget, file)
        if states is None:
            continue
        learners[row] = (method, states, {**meta["config"], **overrides})
        metas[row] = meta
        train[row] = {"train_s": meta["train_s"],
                      "selected": meta.get("checkpoint_selection", {}).get("selected_episode")}
    df = _evaluate(seeds, learners)
    inst = optkit.make_instance(FAMILY, PRESET, 0)
    pairs = [("perfect", ">=", "sca", "D35 ordering"), ("sca", ">=", "haddqn", "D35 ordering"),
             ("haddqn", ">", "random", "D35 ordering"), ("perfect", ">", "random", "before/after"),
             ("perfect", ">", "perfect (untrained)", "before/after"),
             ("haddqn", ">", "haddqn (untrained)", "before/after"),
             ("perfect", ">=", "perfect-literal-hl", "coupling check (D28)"),
             ("haddqn", ">=", "haddqn-literal", "faithful row beside"),
             ("haddqn", ">", "haddqn, flat actions (D34 a-c)", "D34(e) fallback"),
             ("perfect", ">=", "fixed-ceiling", "ceiling (D35; informative)")]
    return [
        (f"Totals on `{PRESET}` seeds {seeds.start}-{seeds.stop - 1} (budget `{budget}`; R = {inst.R} per seed)",
         _totals(df, inst.R, train)),
        ("Paired comparisons (95 % bootstrap over seeds, 10 000 resamples)", _paired(df, pairs)),
        ("Ceiling and rule-in-the-loop parity (accepted totals)", _ratios(df)),
        ("Training monitors (last 25 % of training; greedy validation on seeds 5000-5009)", _monitors(metas, inst.T)),
        ("Greedy validation curve beside the training-mode score", _curves(metas)),
        ("Decision CPU seconds per episode", df.groupby("row", sort=False).cpu_s.mean().reset_index()),
    ]
