"""Learning checks of the `leo-handover` learners (docs/families/leo-handover.md D44, D45, §10 "Learners";
ARCHITECTURE.md "Learners must demonstrably learn").

    python benchmarks/learning_checks.py --family leo-handover            # the published tables
    python benchmarks/learning_checks.py --family leo-handover --quick    # smoke preset, 3 grid points

Environment variables: OPTKIT_LEO_BUDGET (learner budget of _learners.toml, default "paper" = the preset's 200
episodes with train_every 4), OPTKIT_LEO_TEST_EPISODES (first n test episodes scored, default all),
OPTKIT_LEARNING_CKPT (model store, default ~/.cache/optkit/learning-checks; a model is trained once per (method,
preset, c_HO, budget) and reused).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

import optkit
from optkit.formulations.leo_handover.env import HandoverEnv, rollout, training_env
from optkit.formulations.leo_handover.episode import episode_table, evaluation_specs, instance_scaler
from optkit.formulations.leo_handover.evaluator import episode_metrics
from optkit.formulations.leo_handover.generator import draw_episode_specs, normalized_params
from optkit.heuristics.leo_handover.policies import POLICIES
from optkit.learners import checkpoint as ckpt
from optkit.learners import harness
from optkit.learners.leo_handover import common

INTRO = """\
Tables: (1) c_HO tuning of D44: `dqn` with the serving flag, trained for each c_HO of the grid (run seed 0), scored
greedily on the 50 validation episodes of stream [S, 800] (training worlds); c_HO* = the highest validation η_G among
the grid points whose validation H is at most H(`distance`) on the same episodes, else the smallest H. (2) Test
episodes of `paper-default` (test world, stream [S, 400]): H, H / H_min, G and η_G for the rules, the paper-reward
`dqn` (faithful row), the handover-aware `dqn` with c_HO*, and the tabular learners with their unseen-state share
(D45). G never includes c_HO (§6.1)."""

CKPT_DIR = Path(os.environ.get("OPTKIT_LEARNING_CKPT", Path.home() / ".cache" / "optkit" / "learning-checks")) / "leo"
GRID = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)          # D44
FAMILY = "leo-handover"


def budget() -> str:
    return os.environ.get("OPTKIT_LEO_BUDGET", "paper")


# ------------------------------------------------------------------------------------------------ models
def trained(method: str, preset: str, c_ho: float | None = None, *, run_seed: int = 0, base_seed: int = 0) -> dict:
    """{"config", "states", "train_s", "cpu_s", "meta"} of `method` trained on `preset` (handover_penalty = c_ho
    when given), stored under CKPT_DIR and reused."""
    tag = "" if c_ho is None else f"--c{c_ho:g}"
    stem = CKPT_DIR / f"{method}--{preset}{tag}--s{base_seed}.{run_seed}--{budget()}"
    if not ckpt.exists(stem):
        from optkit.learners.training import single_thread

        from optkit.api import scenario_params

        params = dict(scenario_params(FAMILY, preset, None)[0])
        if c_ho is not None:
            params["handover_penalty"] = float(c_ho)
        config = harness.learner_config(FAMILY, method, budget(), base_seed, {})
        wall, cpu = time.perf_counter(), time.process_time()
        with single_thread():
            states, curve, extra = common.learner_module(config).fit(method)(SimpleNamespace(params=params, preset=preset), config, run_seed,
                                                   True)
        meta = {"config": config, "curve": curve, "train_s": time.perf_counter() - wall,
                "cpu_s": time.process_time() - cpu, "c_ho": c_ho, "preset": preset, **extra}
        ckpt.save_checkpoint(stem, states, meta)
    states, meta = ckpt.load_checkpoint(stem)
    return {"config": meta["config"], "states": states["model"], "meta": meta}


def learner_policy(model: dict, env: HandoverEnv, counts: dict | None = None):
    return common.greedy_policy(model["config"], model["states"], env, counts)


# ------------------------------------------------------------------------------------------------ scoring
def score(env: HandoverEnv, orbits_of, params: dict, scaler, specs, policy, key: str | None = None) -> dict:
    """Mean H, H_min, G, η_G over the episodes `specs` rolled out greedily in `env` (orbits_of(spec) -> orbits).
    key: name of a stored score (CKPT_DIR/scores/<key>.json) to reuse; rollouts are deterministic."""
    import json

    path = CKPT_DIR / "scores" / f"{key}--{budget()}--n{len(specs)}.json" if key else None
    if path is not None and path.is_file():
        out = json.loads(path.read_text())
        if "G_per_episode" in out or key.startswith("val-"):   # test scores without G per episode: rolled out again
            for k in ("H_per_episode", "G_per_episode"):
                if k in out:
                    out[k] = np.asarray(out[k], dtype=float)
            return out
    rows = []
    for spec in specs:
        table = episode_table(orbits_of(spec), params, scaler, spec)
        srv, _ = rollout(env, spec, policy, table)
        rows.append(episode_metrics(table, srv))
    frame = pd.DataFrame(rows)
    out = {"H": float(frame["handovers"].mean()), "H_min": float(frame["h_min"].mean()),
           "G": float(frame["reward"].mean()), "eta_G": float(frame["eta_g"].mean()),
           "H_per_episode": frame["handovers"].to_numpy(), "G_per_episode": frame["reward"].to_numpy()}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**out, "H_per_episode": out["H_per_episode"].tolist(),
                                    "G_per_episode": out["G_per_episode"].tolist(),
                                    **({"unseen": policy.counts} if hasattr(policy, "counts") else {})}))
    return out


def validation(params: dict, base_seed: int = 0, n: int = 50):
    """(env over the training worlds, orbits_of, scaler, the 50 validation specs of stream [S, 800])."""
    env = training_env(params, base_seed)
    specs = draw_episode_specs(params, [int(base_seed), 800], n, n_worlds=int(params["n_train_worlds"]))
    return env, (lambda spec: env.worlds[spec.world]), env.scaler, specs


def tune(preset: str = "ext-handover-aware", grid=GRID) -> tuple[pd.DataFrame, float]:
    """D44: the grid's validation (H, η_G) and the chosen c_HO*."""
    from optkit.api import scenario_params

    base = normalized_params(dict(scenario_params(FAMILY, preset, None)[0]))
    plain = normalized_params(dict(scenario_params(FAMILY, preset, None)[0], serving_flag=False))
    env, orbits_of, scaler, specs = validation(plain)
    distance = score(env, orbits_of, plain, scaler, specs, POLICIES["distance"], key="val-distance")
    rows = [{"c_HO": "distance", "val_H": distance["H"], "val_H_over_H_min": distance["H"] / distance["H_min"],
             "val_eta_G": distance["eta_G"], "train_cpu_s": 0.0}]
    for c in grid:
        params = dict(base, handover_penalty=float(c))
        model = trained("dqn", preset, c)
        env_c, orbits_c, scaler_c, specs_c = validation(params)
        s = score(env_c, orbits_c, params, scaler_c, specs_c, learner_policy(model, env_c), key=f"val-dqn-c{c:g}")
        rows.append({"c_HO": c, "val_H": s["H"], "val_H_over_H_min": s["H"] / s["H_min"], "val_eta_G": s["eta_G"],
                     "train_cpu_s": model["meta"]["cpu_s"]})
    table = pd.DataFrame(rows)
    grid_rows = table[table["c_HO"] != "distance"]
    ok = grid_rows[grid_rows["val_H"] <= distance["H"]]
    best = ok.loc[ok["val_eta_G"].idxmax()] if len(ok) else grid_rows.loc[grid_rows["val_H"].idxmin()]
    table["chosen"] = table["c_HO"].apply(lambda c: c == best["c_HO"])
    return table, float(best["c_HO"])


def test_table(c_star: float, n_test: int | None, grid=GRID) -> pd.DataFrame:
    """Rules, references and learners on the test episodes of paper-default (the first n_test). Learner rows carry
    the paired difference of H against `distance` and of G against `score-greedy` over the test episodes (mean and
    95 % bootstrap interval, 10 000 resamples); the grid points other than c_HO* follow as diagnostic rows."""
    from learning import paired_bootstrap

    inst = optkit.make_instance(FAMILY, "paper-default", 0)
    params, scaler = inst.params(), instance_scaler(inst)
    specs = evaluation_specs(inst)[: n_test or None]
    env = HandoverEnv([inst.orbits()], params, scaler)
    orbits_of = lambda spec: inst.orbits()                       # noqa: E731
    rows = []
    base = {}

    def add(name, s, **extra):
        row = {"method": name, "H": s["H"], "H_over_H_min": s["H"] / s["H_min"], "G": s["G"], "eta_G": s["eta_G"],
               **extra}
        if base.get("score-greedy") is not None and name not in base:
            for key, ref, col in (("H_per_episode", "distance", "dH_vs_distance"),
                                  ("G_per_episode", "score-greedy", "dG_vs_score_greedy")):
                mean, low, high = paired_bootstrap(s[key], base[ref][key])
                row.update({col: mean, f"{col}_ci": f"[{low:.3g}, {high:.3g}]"})
        rows.append(row)
        return s

    for rule in ("distance", "score-greedy", "sticky-nearest", "mrt"):
        base[rule] = add(rule, score(env, orbits_of, params, scaler, specs, POLICIES[rule], key=f"test-{rule}"))
    rng = np.random.default_rng(0)
    add("random", score(env, orbits_of, params, scaler, specs,
                        lambda e, o, i: int(rng.choice(np.flatnonzero(i["mask"]))), key="test-random"))
    for method in ("dqn", "sarsa", "qlearning"):
        model = trained(method, "paper-default")
        counts = {"decisions": 0, "unseen": 0}
        policy = learner_policy(model, env, counts)
        policy.counts = counts
        s = score(env, orbits_of, params, scaler, specs, policy, key=f"test-{method}")
        extra = {"train_cpu_s": model["meta"]["cpu_s"]}
        if method != "dqn":
            seen = s.get("unseen", counts)
            extra["unseen_share"] = seen["unseen"] / max(seen["decisions"], 1)
        add(method + (" (paper reward)" if method == "dqn" else ""), s, **extra)
    aware = dict(params, serving_flag=True)
    for c in (c_star, *[c for c in grid if c != c_star]):
        params_c = normalized_params(dict(aware, handover_penalty=float(c)))
        env_aware = HandoverEnv([inst.orbits()], params_c, scaler)
        model = trained("dqn", "ext-handover-aware", c)
        label = (f"dqn handover-aware (c_HO* = {c:g})" if c == c_star
                 else f"dqn handover-aware c_HO = {c:g} (not selected; diagnostic)")
        add(label, score(env_aware, orbits_of, params, scaler, specs, learner_policy(model, env_aware),
                         key=f"test-dqn-aware-c{c:g}"), train_cpu_s=model["meta"]["cpu_s"])
    return pd.DataFrame(rows)


def run(quick: bool) -> list[tuple[str, pd.DataFrame]]:
    grid = (0.5, 1.0, 4.0) if quick else GRID
    n_test = int(os.environ.get("OPTKIT_LEO_TEST_EPISODES", "20" if quick else "0")) or None
    tuning, c_star = tune(grid=grid)
    return [(f"c_HO tuning (D44), budget `{budget()}`, 50 validation episodes", tuning),
            (f"Test episodes of paper-default ({'first ' + str(n_test) if n_test else 'all 200'}), budget "
             f"`{budget()}`", test_table(c_star, n_test, grid))]
