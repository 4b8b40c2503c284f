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
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

import optkit
from optkit.formulations.leo_handover.env import HandoverEnv, kept_slot, rollout, sticky_nearest_slot, training_env
from optkit.formulations.leo_handover.episode import episode_table, evaluation_specs, instance_scaler
from optkit.formulations.leo_handover.evaluator import episode_metrics
from optkit.formulations.leo_handover.generator import normalized_params, validation_specs
from optkit.heuristics.leo_handover.policies import POLICIES
from optkit.learners import checkpoint as ckpt
from optkit.learners import harness, tabular
from optkit.learners.leo_handover import common

INTRO = """\
Tables: (1) c_HO tuning of D44: `dqn` with the serving flag, trained for each c_HO of the grid (run seed 0), scored
greedily on the 50 validation episodes of stream [S, 800] (training worlds). The stored reward r − c_HO·1[handover]
is clipped to ±(1 + c_HO), so the penalty is never truncated (with the paper's ±1, every c_HO ≥ 2 trains the same
learner). c_HO* = the highest validation η_G among the grid points whose validation H is at most H(`distance`) and
at most 1.25 H_min on the same episodes; else D44's rule (H ≤ H(`distance`)); else the smallest H; `chosen` names
the rule that chose it. (2) Test episodes of `paper-default` (test world, stream [S, 400]): H, H / H_min, G and η_G
for the rules, the paper-reward `dqn` (faithful row), the handover-aware `dqn` with c_HO*, and the tabular
learners with their unseen-state share (D45). G never includes c_HO (§6.1). Then before vs after: each
paper-reward learner against `random` and against its own untrained greedy policy, and the paper-reward `dqn` over
5 run seeds. (3) What the tabular tables decide: the same tables with a keep-serving preference in seen states,
and tabular learners trained with c_HO*. (4) The no-collapse monitors of §10 on every training curve (greedy
validation G every E/20 episodes)."""

CKPT_DIR = Path(os.environ.get("OPTKIT_LEARNING_CKPT", Path.home() / ".cache" / "optkit" / "learning-checks")) / "leo"
GRID = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)          # D44
HANDOVER_TARGET = 1.25                          # the handover claim's bound: H <= 1.25 H_min and H <= H(distance)
FAMILY = "leo-handover"


def budget() -> str:
    return os.environ.get("OPTKIT_LEO_BUDGET", "paper")


# ------------------------------------------------------------------------------------------------ models
def trained(method: str, preset: str, c_ho: float | None = None, *, run_seed: int = 0, base_seed: int = 0) -> dict:
    """{"config", "states", "train_s", "cpu_s", "meta"} of `method` trained on `preset` (handover_penalty = c_ho
    when given), stored under CKPT_DIR and reused while its configuration is the current _learners.toml's."""
    import sys

    from optkit.api import scenario_params
    from optkit.learners.training import single_thread

    tag = "" if c_ho is None else f"--c{c_ho:g}"
    stem = CKPT_DIR / f"{method}--{preset}{tag}--s{base_seed}.{run_seed}--{budget()}"
    config = harness.learner_config(FAMILY, method, budget(), base_seed, {})
    if ckpt.exists(stem) and ckpt.load_checkpoint(stem)[1]["config"] != config:
        print(f"{stem.name}: stored with another configuration; training again", file=sys.stderr)
        for path in ckpt.checkpoint_files(stem):
            Path(path).unlink()
    if not ckpt.exists(stem):
        shutil.rmtree(CKPT_DIR / "scores", ignore_errors=True)           # stored scores may name the old model
        params = dict(scenario_params(FAMILY, preset, None)[0])
        if c_ho is not None:
            params["handover_penalty"] = float(c_ho)
        wall, cpu = time.perf_counter(), time.process_time()
        with single_thread():
            fit = common.learner_module(config).fit(method)
            states, curve, extra = fit(SimpleNamespace(params=params, preset=preset), config, run_seed, True)
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
    return env, (lambda spec: env.worlds[spec.world]), env.scaler, validation_specs(params, base_seed, n)


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
    below_distance = grid_rows["val_H"] <= distance["H"]
    for ok, rule in ((grid_rows[below_distance & (grid_rows["val_H_over_H_min"] <= HANDOVER_TARGET)],
                      f"highest val_eta_G with val_H <= H(distance) and <= {HANDOVER_TARGET:g} H_min"),
                     (grid_rows[below_distance], "highest val_eta_G with val_H <= H(distance) (D44)")):
        if len(ok):
            best = ok.loc[ok["val_eta_G"].idxmax()]
            break
    else:
        best, rule = grid_rows.loc[grid_rows["val_H"].idxmin()], "smallest val_H (no grid point below distance)"
    table["chosen"] = table["c_HO"].apply(lambda c: rule if c == best["c_HO"] else "")
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


RUN_SEEDS = (0, 1, 2, 3, 4)                     # EXP-2: 5 run seeds of the paper-reward dqn


def seed_table(n_test: int | None) -> pd.DataFrame:
    """The paper-reward `dqn` over run seeds 0-4 against `score-greedy` on the test episodes: per seed H, η_G and the
    mean per-episode G difference; the last row pools the seeds (mean and std of the per-seed values) and gives the
    95 % bootstrap interval over the 5 seeds of the G difference: "within noise" when it contains 0."""
    from learning import paired_bootstrap

    inst = optkit.make_instance(FAMILY, "paper-default", 0)
    params, scaler = inst.params(), instance_scaler(inst)
    specs = evaluation_specs(inst)[: n_test or None]
    env = HandoverEnv([inst.orbits()], params, scaler)
    orbits_of = lambda spec: inst.orbits()                       # noqa: E731
    greedy = score(env, orbits_of, params, scaler, specs, POLICIES["score-greedy"], key="test-score-greedy")
    H, eta, dG, cpu = [], [], [], []
    for seed in RUN_SEEDS:
        model = trained("dqn", "paper-default", run_seed=seed)
        s = score(env, orbits_of, params, scaler, specs, learner_policy(model, env), key=f"test-dqn-seed{seed}")
        H.append(s["H"])
        eta.append(s["eta_G"])
        dG.append(float(np.mean(s["G_per_episode"] - greedy["G_per_episode"])))
        cpu.append(model["meta"]["cpu_s"])
    mean, low, high = paired_bootstrap(dG, np.zeros(len(dG)))
    rows = [{"run_seed": str(seed), "H": f"{h:.4g}", "eta_G": f"{e:.4g}", "dG_vs_score_greedy": f"{d:.4g}",
             "train_cpu_s": f"{c:.0f}"} for seed, h, e, d, c in zip(RUN_SEEDS, H, eta, dG, cpu)]
    rows.append({"run_seed": f"mean ± std over {len(dG)} seeds", "H": f"{np.mean(H):.4g} ± {np.std(H, ddof=1):.2g}",
                 "eta_G": f"{np.mean(eta):.4g} ± {np.std(eta, ddof=1):.2g}",
                 "dG_vs_score_greedy": f"{mean:.4g} [{low:.3g}, {high:.3g}]", "train_cpu_s": ""})
    rows.append({"run_seed": "score-greedy", "H": f"{greedy['H']:.4g}", "eta_G": f"{greedy['eta_G']:.4g}",
                 "dG_vs_score_greedy": "0", "train_cpu_s": ""})
    return pd.DataFrame(rows)


def before_after_table(n_test: int | None) -> pd.DataFrame:
    """Before vs after (ARCHITECTURE, §10): each paper-reward learner's G against `random` and against its own
    untrained greedy policy (the DQN's initial network of run seed 0; an empty table, which is the D45 fallback
    alone, i.e. `sticky-nearest`), paired over the test episodes (mean and 95 % bootstrap interval), and η_G, whose
    rule stand-in is `score-greedy` (parity: η_G ≥ 0.95)."""
    from learning import paired_bootstrap

    from optkit.learners import dqn as dqn_core
    from optkit.learners.leo_handover import dqn

    inst = optkit.make_instance(FAMILY, "paper-default", 0)
    params, scaler = inst.params(), instance_scaler(inst)
    specs = evaluation_specs(inst)[: n_test or None]
    env = HandoverEnv([inst.orbits()], params, scaler)
    orbits_of = lambda spec: inst.orbits()                       # noqa: E731
    rng = np.random.default_rng(0)
    random = score(env, orbits_of, params, scaler, specs,
                   lambda e, o, i: int(rng.choice(np.flatnonzero(i["mask"]))), key="test-random")
    cfg = dqn.config(harness.learner_config(FAMILY, "dqn", budget(), 0, {}))
    initial = dqn_core.DQNLearner(env.obs_dim, env.M, dqn.core_config(cfg, 1, buffer=1), 0,
                                  torch_seed=common.run_seeds(0, 0)[1])
    untrained = {"dqn": score(env, orbits_of, params, scaler, specs, dqn.greedy_policy(initial, {}, []),
                              key="test-dqn-untrained")}
    untrained["sarsa"] = untrained["qlearning"] = score(env, orbits_of, params, scaler, specs,
                                                        POLICIES["sticky-nearest"], key="test-sticky-nearest")
    rows = []
    for method in ("dqn", "sarsa", "qlearning"):
        s = score(env, orbits_of, params, scaler, specs, learner_policy(trained(method, "paper-default"), env),
                  key=f"test-{method}")
        row = {"learner": method, "G": s["G"], "eta_G": s["eta_G"], "G_untrained": untrained[method]["G"]}
        lows = []
        for col, ref in (("dG_vs_random", random), ("dG_vs_untrained", untrained[method])):
            mean, low, high = paired_bootstrap(s["G_per_episode"], ref["G_per_episode"])
            row.update({col: mean, f"{col}_ci": f"[{low:.3g}, {high:.3g}]"})
            lows.append(low)
        row["beats_both"] = bool(min(lows) > 0)
        rows.append(row)
    return pd.DataFrame(rows)


def keep_serving_policy(model: dict, margin: float, counts: dict):
    """Greedy policy of a trained table with a keep-serving preference in seen states too (diagnostic of D45): keep
    the serving satellite when its slot is valid and its Q is within margin·|max Q| of the best valid slot (a pair
    never updated, Q = 0, counts as within), else the table's argmax; unseen keys take the D45 fallback.
    counts["table"] is incremented when the table's own argmax decides."""
    table = tabular.TabularQ.from_tensors(model["states"])

    def act(env, obs, info):
        key = tabular.state_key(obs, table.n_buckets)
        counts["decisions"] = counts.get("decisions", 0) + 1
        if not table.seen(key):
            counts["unseen"] = counts.get("unseen", 0) + 1
            return sticky_nearest_slot(env)
        q, kept = table.table[key], kept_slot(env)
        best = q[info["mask"].astype(bool)].max()
        if kept >= 0 and (q[kept] == 0.0 or q[kept] >= best - margin * abs(best)):
            return kept
        counts["table"] = counts.get("table", 0) + 1
        return table.greedy(key, info["mask"])
    return act


def table_counted(policy, counts: dict):
    """A trained table's greedy policy that also counts in counts["table"] the decisions not taken by the
    unseen-state fallback."""
    def act(env, obs, info):
        before = counts.get("unseen", 0)
        action = policy(env, obs, info)
        counts["table"] = counts.get("table", 0) + (counts.get("unseen", 0) == before)
        return action
    return act


def tabular_table(c_star: float, n_val: int = 50) -> pd.DataFrame:
    """D45 diagnostic on the validation episodes of paper-default (training worlds, stream [S, 800]): the tabular
    learners as trained, the same tables with a keep-serving preference in seen states (margins 0.5 and 1), and the
    tabular learners trained on the handover-aware reward with c_HO*, beside `distance`, `sticky-nearest` and
    `score-greedy`. table_share: decisions taken by the table's argmax (the rest: the unseen-state fallback or the
    keep-serving preference)."""
    from optkit.api import scenario_params

    plain = normalized_params(dict(scenario_params(FAMILY, "paper-default", None)[0]))
    env, orbits_of, scaler, specs = validation(plain, n=n_val)
    rows = []

    def add(name, policy, counts=None, params=plain, environment=env, train_cpu_s=float("nan")):
        s = score(environment, orbits_of, params, scaler, specs, policy)
        share = (lambda k: counts.get(k, 0) / max(counts.get("decisions", 0), 1)) if counts is not None else None
        rows.append({"policy": name, "val_H": s["H"], "val_H_over_H_min": s["H"] / s["H_min"], "val_eta_G": s["eta_G"],
                     "unseen_share": share("unseen") if share else float("nan"),
                     "table_share": share("table") if share else float("nan"), "train_cpu_s": train_cpu_s})

    for rule in ("distance", "sticky-nearest", "score-greedy"):
        add(rule, POLICIES[rule])
    for method in ("sarsa", "qlearning"):
        model = trained(method, "paper-default")
        counts = {}
        add(f"{method} (as trained)", table_counted(learner_policy(model, env, counts), counts), counts,
            train_cpu_s=model["meta"]["cpu_s"])
        for margin in (0.5, 1.0):
            counts = {}
            add(f"{method}, keep serving within {margin:g}·|max Q|", keep_serving_policy(model, margin, counts),
                counts)
        aware = normalized_params(dict(scenario_params(FAMILY, "ext-handover-aware", None)[0],
                                       handover_penalty=float(c_star)))
        env_aware = validation(aware, n=n_val)[0]
        model = trained(method, "ext-handover-aware", c_star)
        counts = {}
        add(f"{method} handover-aware (c_HO* = {c_star:g})", table_counted(learner_policy(model, env_aware, counts),
                                                                          counts), counts, params=plain,
            environment=env_aware, train_cpu_s=model["meta"]["cpu_s"])
    return pd.DataFrame(rows)


def monitor_table(c_star: float, grid=GRID) -> pd.DataFrame:
    """The no-collapse monitors of §10 on every trained model's curve: the greedy validation G (val_reward, 50
    episodes of [S, 800], every E/20 episodes) over the last 25 % of training not more than 5 % below its best, and
    the training-mode G not constant over the last 25 %. Columns: best and last greedy validation G, the training-
    mode G of the last 25 % (mean), and whether each monitor holds."""
    from optkit.learners.monitors import flat_return, tail, validation_drop

    models = [("dqn (paper reward)", trained("dqn", "paper-default")), ("sarsa", trained("sarsa", "paper-default")),
              ("qlearning", trained("qlearning", "paper-default"))]
    models += [(f"dqn handover-aware c_HO = {c:g}", trained("dqn", "ext-handover-aware", c)) for c in grid]
    models += [(f"{m} handover-aware c_HO = {c_star:g}", trained(m, "ext-handover-aware", c_star))
               for m in ("sarsa", "qlearning")]
    rows = []
    for name, model in models:
        curve = model["meta"]["curve"]
        val = [row["val_reward"] for row in curve if "val_reward" in row]
        drop = validation_drop(curve, "val_reward", 0.05 * abs(max(val)))
        rows.append({"model": name, "val_points": len(val), "val_G_best": max(val), "val_G_last": val[-1],
                     "train_G_tail": float(np.nanmean([row["reward"] for row in tail(curve)])),
                     "validation_within_5pct_of_best": drop.ok, "return_not_flat": flat_return(curve, "reward").ok})
    return pd.DataFrame(rows)


def run(quick: bool) -> list[tuple[str, pd.DataFrame]]:
    grid = (0.5, 1.0, 4.0) if quick else GRID
    n_test = int(os.environ.get("OPTKIT_LEO_TEST_EPISODES", "20" if quick else "0")) or None
    tuning, c_star = tune(grid=grid)
    return [(f"c_HO tuning (D44), budget `{budget()}`, 50 validation episodes", tuning),
            (f"Test episodes of paper-default ({'first ' + str(n_test) if n_test else 'all 200'}), budget "
             f"`{budget()}`", test_table(c_star, n_test, grid)),
            (f"Tabular learners: what the table decides (D45 diagnostic), budget `{budget()}`, "
             f"{10 if quick else 50} validation episodes of paper-default", tabular_table(c_star, 10 if quick else 50)),
            (f"Before vs after: paper-reward learners against `random` and their untrained greedy policy "
             f"({'first ' + str(n_test) if n_test else 'all 200'} test episodes), budget `{budget()}`",
             before_after_table(n_test)),
            (f"Paper-reward `dqn` over run seeds 0-4 against `score-greedy` "
             f"({'first ' + str(n_test) if n_test else 'all 200'} test episodes), budget `{budget()}`", seed_table(n_test)),
            (f"No-collapse monitors (§10) on the training curves, budget `{budget()}`", monitor_table(c_star, grid))]
