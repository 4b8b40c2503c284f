"""The sagin learners (docs/families/sagin.md §7.1, §7.2, §7.5): learner signals (checks 31, 32), the Switch rule, the
`drl` masking, the greedy association rules, the configuration dataclasses against _learners.toml, deterministic
training, a smoke learning test, solve -> Solution the evaluator accepts with a cached checkpoint on the second call,
and the train.preset plumbing (ref-small trains on paper-default). Tests that train use the exact backend on small
instances (no radio-map build)."""
import dataclasses
import importlib

import numpy as np
import pytest

from optkit.errors import InputError, ValidationError
from optkit.formulations.sagin.env import REMAIN, SWITCH, SaginEnv
from optkit.formulations.sagin.evaluator import evaluate
from optkit.formulations.sagin.generator import generate
from optkit.formulations.sagin.radio import radio_model
from optkit.learners import harness
from optkit.learners.sagin import METHODS, common, ddqn_csac, drl
from optkit.scenarios import load_scenario, merge


def _inst(name, seed=0, overrides=None):
    params = load_scenario("sagin", name).params
    return generate(merge(params, overrides) if overrides else params, seed, name)


def _config(method, budget="smoke", **changes):
    config = harness.load_config("sagin", method, budget)
    config.update({"base_seed": 0, "backend": "exact", **changes})
    return config


def _module(method):
    return drl if method == "drl" else ddqn_csac


def _agent(method, obs_dim, buffer, **changes):
    module = _module(method)
    return module.Agent(module.config_of(_config(method, **changes)), obs_dim, 0, 0, buffer=buffer)


# ----------------------------------------------------------------------------------------- configuration
TOPS_LOWERS = {"ddqn-csac": ("ddqn", "csac"), "rsrp-csac": ("rsrp", "csac"), "maxrate-csac": ("maxrate", "csac"),
               "ddqn-sac": ("ddqn", "sac"), "ddqn-sl": ("ddqn", "straight")}


@pytest.mark.parametrize("spec", METHODS, ids=lambda s: s.id)
def test_config_dataclass_is_the_toml_table(spec):
    """Every sagin learner's dataclass holds exactly its resolved _learners.toml table (every field set from the
    file, no default in code); an unknown key, a missing one and a bad top/lower are refused."""
    module = importlib.import_module(spec.entry.split(":")[0])
    assert module is _module(spec.id)
    for budget in ("check", "smoke", "quick", "paper"):
        config = harness.learner_config("sagin", spec.id, budget, 3, {"episodes": None})
        cfg = module.config_of(config)
        assert dataclasses.asdict(cfg) == {k: v for k, v in config.items() if k != "base_seed"}
        assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(cfg))
        assert cfg.budget == budget and cfg.episodes == 0
    assert module.config_of(harness.learner_config("sagin", spec.id, "quick", 0, {"episodes": 7})).episodes == 7
    with pytest.raises(InputError, match="'bogus' is not a setting"):
        module.config_of({**config, "bogus": 1})
    with pytest.raises(InputError, match="'batch' is not set"):
        module.config_of({k: v for k, v in config.items() if k != "batch"})
    if spec.id == "drl":
        assert cfg.kappa_qos == 1.0 and (cfg.ddqn_lr, cfg.ddqn_gamma) == (0.0005, 0.97)
        with pytest.raises(InputError, match="'lambda_lr' is not a setting of DrlConfig"):
            module.config_of({**config, "lambda_lr": 0.05})                 # no CSAC keys inherited
    else:
        assert (cfg.top, cfg.lower) == TOPS_LOWERS[spec.id]
        with pytest.raises(InputError, match="lower: must be one of"):
            module.config_of({**config, "lower": "lattice"})


# ----------------------------------------------------------------------------------------- check 31
def _scripted_returns(inst, circle: bool, gamma=0.99):
    """Fly straight to q_f; with circle, turn tangentially once within 100 m and circle until N_max.
    Returns (discounted Σ γ^n r^low_n, r^low per step)."""
    env = SaginEnv(inst, "exact")
    env.reset()
    rewards = []
    while not env.done:
        x = env.q_f - env.q
        d = np.linalg.norm(x[:, :2], axis=1, keepdims=True)
        tangent = np.stack([-x[:, 1], x[:, 0], np.zeros(len(x))], axis=1)
        direction = np.where(circle & (d <= 100.0), tangent, x)
        res = env.step(np.zeros(env.n_uavs, dtype=np.int64), direction)
        rewards.append(float(res.r_low[0]))
    rewards = np.array(rewards)
    return float(np.sum(gamma ** np.arange(rewards.size) * rewards)), rewards


def test_check31_shifted_reward_and_circling(tiny):
    paper = _inst("ref-tiny", overrides={"reward": {"lower_shift": False, "arrival_bonus": 0.0}})
    g_straight, r_straight = _scripted_returns(tiny, circle=False)
    g_circle, r_circle = _scripted_returns(tiny, circle=True)
    assert r_circle.size == tiny.uav_max_steps > r_straight.size                  # circling never arrives
    assert np.all(r_straight[:-1] <= 0.0) and np.all(r_circle <= 0.0)
    no_bonus = _inst("ref-tiny", overrides={"reward": {"arrival_bonus": 0.0}})
    _, r_plain = _scripted_returns(no_bonus, circle=False)
    assert r_straight[-1] == pytest.approx(r_plain[-1] + tiny.reward_arrival_bonus)   # check 32c: + w_A at arrival
    assert np.array_equal(r_straight[:-1], r_plain[:-1]) and r_plain[-1] <= 0.0
    w_r, _, w_g = tiny.reward_w
    _, r_paper = _scripted_returns(paper, circle=True)
    assert np.allclose(r_circle, r_paper - (w_r + w_g))                          # E28 shift
    assert g_straight > g_circle                                                 # shifted: arriving is better
    p_straight, _ = _scripted_returns(paper, circle=False)
    p_circle, _ = _scripted_returns(paper, circle=True)
    assert p_circle > p_straight                                                 # paper form: circling pays


# ----------------------------------------------------------------------------------------- check 32
@pytest.mark.parametrize("r_req", [1000.0, 0.0])
def test_check32_multipliers_per_episode_from_on_policy_costs(r_req):               # D48
    inst = _inst("quick", overrides={"qos": {"r_req": r_req}})
    config = _config("rsrp-csac", max_episodes=3, max_episode_steps=25, learning_starts=40, batch=16,
                     lambda_init=0.5)
    _, curve, _ = ddqn_csac.train_on(inst, config, 0)
    mu = [r["mu_qos"] for r in curve]
    mu_bnd = [r["mu_bnd"] for r in curve]
    if r_req > 0:                      # R_req above every rate: ḡ_qos ≈ 1 > d_qos = 0, one step of η_λ,ep per episode
        assert 0.5 < mu[0] < mu[1] < mu[2]
        assert np.diff([0.5] + mu) == pytest.approx([0.05] * 3, rel=0.02)
    else:                              # g_qos ≡ 0 = d_qos: μ_qos does not move
        assert mu == [0.5, 0.5, 0.5]
    # no boundary event in 25 steps from the test starts (floor proposals are projections, D47): μ_bnd decays by
    # η_λ,ep·d_bnd per episode
    assert all(r["boundary_events"] == 0 for r in curve)
    assert np.diff([0.5] + mu_bnd) == pytest.approx([-0.05 * 0.01] * 3, rel=1e-9)


def test_check33_epsilon_floor_after_75_percent_of_every_budget():              # D51
    from optkit.learners.ddqn import episode_epsilon

    for method in ("ddqn-csac", "drl", "ddqn-sac", "ddqn-sl"):
        for budget in ("smoke", "quick", "fast", "reduced", "paper"):
            config = harness.load_config("sagin", method, budget)
            for preset in ("quick", "check-1uav", "paper-default"):
                E = common.n_episodes(_params_only(preset), _module(method).config_of(config))
                eps = [episode_epsilon(e, E, config["eps_start"], config["eps_end"], config["eps_reach_divisor"])
                       for e in range(E)]
                floor = [e for e, x in enumerate(eps) if x <= config["eps_end"] + 1e-12]
                assert not floor or floor[0] >= 0.75 * E, (method, budget, preset, floor[0], E)
                assert min(eps) > 0.0


def _params_only(preset):
    class Train:                                    # n_episodes reads train_episodes only
        train_episodes = load_scenario("sagin", preset).params["train"]["episodes"]
    return Train


# ----------------------------------------------------------------------------------------- switch rule, masks
def test_switch_targets_argmax_with_lowest_index_ties():
    q = np.array([[1.0, 5.0, 5.0, 9.0], [2.0, 2.0, 1.0, 0.0]])
    mask = np.array([[True, True, True, False], [False, True, True, True]])
    assert ddqn_csac.switch_targets(q, mask).tolist() == [1, 1]


def test_agent_switches_to_the_best_candidate_by_q_remain(quick):
    env = SaginEnv(quick, "exact")
    env.reset()
    agent = _agent("ddqn-csac", env.obs_dim, 10)
    import torch

    with torch.no_grad():                                  # make Switch the greedy top action everywhere
        agent.top.online[-1].bias[SWITCH] = 1e6
    idx = np.arange(env.n_uavs)
    act = agent.act(env, idx, None)
    assert np.all(act["top"] == SWITCH)
    cand, mask = env.candidate_observations()
    q = agent.top.q_values(cand.reshape(-1, env.obs_dim))[:, REMAIN].reshape(env.n_uavs, env.n_bs)
    expected = [int(np.flatnonzero(mask[u])[np.argmax(q[u][mask[u]])]) for u in range(env.n_uavs)]
    assert act["target"].tolist() == expected
    assert not np.any(act["target"] == env.b)
    assert np.array_equal(act["s1"], env.observation(serving=act["target"]))   # lower level sees b_{n+1}
    env.step(act["top"], act["direction"], act["target"])                      # a valid Switch for the env


def test_drl_directions_respect_the_mask(quick):
    env = SaginEnv(quick, "exact")
    env.reset()
    agent = _agent("drl", env.obs_dim, 10)
    assert drl.LATTICE.shape == (26, 3) and np.allclose(np.linalg.norm(drl.LATTICE_UNIT, axis=1), 1.0)
    for _ in range(30):
        idx = np.flatnonzero(env.active)
        act = agent.act(env, idx, 1.0)                     # uniform over the valid directions
        x_hat = env.q_f - env.q[idx]
        assert np.all(np.einsum("ij,ij->i", drl.LATTICE[act["a_low"]], x_hat) > 0)
        mask = drl.lattice_mask(env.q[idx], env.q_f)
        assert mask[np.arange(idx.size), act["a_low"]].all() and np.all(mask.sum(axis=1) >= 9)
        env.step(act["top"], act["direction"], act["target"])
    q = np.array([[0.0, 0.0, 100.0]])
    mask = drl.lattice_mask(q, np.array([10.0, 0.0, 100.0]))[0]
    assert set(map(tuple, drl.LATTICE[mask].astype(int))) == {(1, j, k) for j in (-1, 0, 1) for k in (-1, 0, 1)}


def test_greedy_associations_and_sinr(quick):
    env = SaginEnv(quick, "exact")
    env.reset()
    model = radio_model(quick)
    links = model.links(env.q, env.t)
    sinr = model.large_scale_sinr(env.q, env.t)
    assert np.allclose(common.large_scale_sinr(model, links.rsrp_dbm), sinr)
    assert np.array_equal(common.greedy_association(env, "sinr"),
                          np.argmax(np.where(links.available, sinr, -1), axis=1))
    assert np.array_equal(common.greedy_association(env, "rsrp"),
                          np.argmax(np.where(links.available, links.rsrp_dbm, -np.inf), axis=1))
    assert np.array_equal(common.greedy_association(env, "maxrate"),
                          np.argmax(np.where(env.available_now, env.rates_now, -np.inf), axis=1))


# ----------------------------------------------------------------------------------------- training
def test_training_is_deterministic_and_records_the_curve(tiny):
    config = _config("ddqn-csac", max_episodes=2, max_episode_steps=40, learning_starts=30, batch=16)
    s1, c1, e1 = ddqn_csac.train_on(tiny, config, 3)
    s2, c2, _ = ddqn_csac.train_on(tiny, config, 3)
    assert c1 == c2
    for level in ("top", "low"):
        first = s1["model"][level]
        for key in ("online",) if level == "top" else ("actor",):
            assert all(np.array_equal(first[key][k].numpy(), s2["model"][level][key][k].numpy()) for k in first[key])
    keys = {"episode", "return_top", "return_low", "return", "mu_qos", "mu_bnd", "alpha", "epsilon", "steps",
            "grad_steps", "success", "rate_mbps", "switches", "objective", "floor_projections", "boundary_events"}
    assert set(c1[0]) == keys and c1[0]["return"] == c1[0]["return_low"]
    assert c1[0]["epsilon"] == 0.5 and c1[1]["epsilon"] == pytest.approx(0.5 * 0.1 ** 0.625)   # E = 2 (D51)
    assert e1["env_steps"] == sum(r["steps"] for r in c1)
    assert e1["grad_steps"] == e1["env_steps"] - 30 + 1                        # one step per level per env step
    _, c3, _ = ddqn_csac.train_on(tiny, config, 4)
    assert c3 != c1


@pytest.mark.slow
def test_smoke_learning_beats_random_policy(quick):
    """ddqn-csac on quick, 900 env steps (4 UAVs): the deterministic policy beats uniform random actions on the
    lower-level return and on the objective J (exact backend, test starts)."""
    config = _config("ddqn-csac", max_episodes=6, max_episode_steps=150, learning_starts=200)
    states, curve, _ = ddqn_csac.train_on(quick, config, 0)

    def score(agent, epsilon):
        env = SaginEnv(quick, "exact")
        env.reset()
        while not env.done:
            idx = np.flatnonzero(env.active)
            act = agent.act(env, idx, epsilon)
            env.step(act["top"], act["direction"], act["target"])
        s = env.summary()
        return s["return_low"].mean(), s["objective"].mean()

    trained = ddqn_csac.greedy_policy(config, 24, 0, 0, states["model"])
    random_policy = ddqn_csac.Agent(ddqn_csac.config_of(config), 24, 0, 0, buffer=10)   # warm-up: uniform actions
    (low, objective), (low_rand, objective_rand) = score(trained, None), score(random_policy, 1.0)
    assert low > low_rand + 0.1 * abs(low_rand)
    assert objective > objective_rand + 5.0


# ----------------------------------------------------------------------------------------- solve, cache, presets
def test_solve_returns_an_evaluable_solution_and_caches(tiny, cache_dir):
    from optkit.learners.sagin.ddqn_csac import solve_ddqn_sl

    first = solve_ddqn_sl(tiny, seed=0, budget="check")
    assert first.family == "sagin" and first.method == "ddqn-sl" and first.runtime_s >= 0
    assert not first.info["cache_hit"] and first.info["episodes"] == 2 and first.info["train_preset"] == "ref-tiny"
    ev = evaluate(tiny, first)
    assert np.isfinite(ev.metrics["objective"])
    assert first.decisions.positions[0][0].tolist() == tiny.starts_test[0].tolist()
    second = solve_ddqn_sl(tiny, seed=0, budget="check")
    assert second.info["cache_hit"] and second.info["checkpoint"] == first.info["checkpoint"]
    assert [p.tolist() for p in second.decisions.positions] == [p.tolist() for p in first.decisions.positions]
    with pytest.raises(InputError):
        solve_ddqn_sl(_inst("ref-tiny", overrides={"qos": {"r_req": 3.0}}), budget="check")


def test_ref_small_trains_on_paper_default(monkeypatch):
    inst = _inst("ref-small")
    assert inst.train_preset == "paper-default" and common.training_preset(inst) == "paper-default"
    assert common.training_preset(_inst("quick")) == "quick"
    seen = {}

    class Stop(Exception):
        pass

    def fake_obtain(family, method, preset, config, seed, sources, fit, **kw):
        seen.update(preset=preset, base_seed=config["base_seed"], seed=seed)
        raise Stop

    monkeypatch.setattr(harness, "obtain", fake_obtain)
    with pytest.raises(Stop):
        ddqn_csac.solve_ddqn_csac(inst, seed=2, budget="check")
    assert seen == {"preset": "paper-default", "base_seed": 0, "seed": 2}


def test_train_preset_validation():
    with pytest.raises(ValidationError, match="train_preset"):
        _inst("quick", overrides={"train": {"preset": "no-such-preset"}})
    assert _inst("quick", overrides={"train": {"preset": "paper-default"}}).train_preset == "paper-default"


def test_run_seeds_depend_on_instance_and_method_seed():
    a = common.run_seeds(0, 0)
    assert a[2:] == common.run_seeds(0, 0)[2:] and a[2] != a[3]
    assert common.run_seeds(0, 1)[2:] != a[2:] and common.run_seeds(1, 0)[2:] != a[2:]
    assert a[0].random() != a[1].random()


@pytest.mark.parametrize("method", ["ddqn-csac", "ddqn-sac", "drl", "ddqn-sl"])
def test_stored_transitions_follow_the_method(quick, method):
    """One step: what each level stores (§7.1 step 5, §7.2 reward, §7.5 fixed penalties)."""
    env = SaginEnv(quick, "exact")
    env.reset()
    agent = _agent(method, env.obs_dim, 100)
    idx = np.flatnonzero(env.active)
    act = agent.act(env, idx, 0.5)
    res = env.step(act["top"], act["direction"], act["target"])
    agent.observe(env, idx, act, res)
    k = idx.size
    if method != "drl":
        top = agent.top.memory.data
        assert np.allclose(top["reward"][:k], res.r_top[idx]) and np.array_equal(top["obs"][:k], act["s"])
        assert np.array_equal(top["next_obs"][:k], res.obs[idx]) and np.array_equal(top["action"][:k], act["a_top"])
    if method == "ddqn-sl":
        assert agent.low is None and np.allclose(act["direction"], env.q_f - quick.starts_test)
        return
    low = agent.low.memory.data
    r, g_qos, g_bnd = res.r_low[idx], res.g_qos[idx], res.g_bnd[idx]
    if method == "ddqn-csac":
        assert np.allclose(low["reward"][:k], r) and np.allclose(low["costs"][:k], np.stack([g_qos, g_bnd], 1))
        assert np.array_equal(low["obs"][:k], act["s1"])
    elif method == "ddqn-sac":
        assert agent.low.n_costs == 0 and np.allclose(low["reward"][:k], r - 1.0 * g_qos - 1.0 * g_bnd)
    else:
        assert np.allclose(low["reward"][:k], r - np.maximum(0.0, g_qos) - g_bnd)
        assert np.array_equal(low["next_mask"][:k], drl.lattice_mask(env.q[idx], env.q_f))
        sinr = radio_model(quick).large_scale_sinr(quick.starts_test, np.zeros(len(idx)))
        assert np.array_equal(res.serving[idx], np.argmax(sinr, axis=1))          # max-SINR association at q(0)


def test_radio_map_disk_cache(tmp_path, monkeypatch):
    """cached_radio_map stores the raster once; another instance object of the same JSON loads the same map."""
    from optkit.formulations.sagin import env as envmod

    monkeypatch.setenv(envmod.MAP_CACHE_ENV, str(tmp_path))
    a = _inst("ref-tiny")
    built = envmod.cached_radio_map(a)
    files = list(tmp_path.glob("*.npz"))
    assert [f.stem for f in files] == [envmod.map_cache_key(a)]
    b = _inst("ref-tiny")                                   # a new object: the in-memory memo does not apply
    loaded = envmod.cached_radio_map(b)
    assert loaded is not built and loaded.rate_grid.dtype == built.rate_grid.dtype == np.float32
    assert np.array_equal(loaded.rate_grid, built.rate_grid) and np.array_equal(loaded.rsrp_grid, built.rsrp_grid)
    q = np.array([[700.0, 900.0, 100.0], [1234.5, 1500.25, 100.0]])
    assert np.array_equal(loaded.rates(q, np.array([0.0, 40.0])), built.rates(q, np.array([0.0, 40.0])))
    other = _inst("ref-tiny", seed=1)
    assert envmod.map_cache_key(other) != envmod.map_cache_key(a)
    monkeypatch.setenv(envmod.MAP_CACHE_ENV, "off")
    assert envmod.map_cache_dir() is None
    envmod.cached_radio_map(other)
    assert len(list(tmp_path.glob("*.npz"))) == 1


@pytest.mark.parametrize("max_steps, arrives", [(200, True), (5, False)])
def test_done_is_arrival_and_truncation_is_bootstrapped(max_steps, arrives):
    """§7.1 step 4: arrival is terminal (done = 1 on the arriving transition only), reaching N_max is a time-limit
    truncation (done = 0, bootstrapped); a finished UAV stores nothing more. Both replays (DDQN and CSAC)."""
    inst = _inst("ref-tiny", overrides={"uav": {"starts": [[1300.0, 1500.0, 100.0]], "max_steps": max_steps}})
    agent = _agent("ddqn-csac", inst.n_bs + 4, 500)
    env = SaginEnv(inst, "exact")
    env.reset()
    steps = 0
    while not env.done:
        idx = np.flatnonzero(env.active)
        act = agent.act(env, idx, 0.5)
        act["direction"][idx] = env.q_f - env.q[idx]            # fly straight: 141 m to q_f, arrival radius 30 m
        res = env.step(act["top"], act["direction"], act["target"])
        agent.observe(env, idx, act, res)
        steps += 1
    assert bool(env.arrived[0]) == arrives and steps == (12 if arrives else 5)   # ⌈(141.4 − 30) / 10⌉ = 12
    for memory in (agent.top.memory, agent.low.memory):
        done = memory.data["done"][:len(memory)]
        assert len(memory) == steps                              # one transition per step, none after the end
        assert done.tolist() == [0.0] * (steps - 1) + [1.0 if arrives else 0.0]
    assert np.allclose(agent.low.memory.data["costs"][:steps, 1], 0.0)  # no boundary event on the straight line


def test_checkpoint_code_version_covers_every_module_the_training_imports():
    from optkit.sources import import_closure

    for module in (ddqn_csac, drl):
        names = {p.name for p in module.SOURCES}
        for must in ("fields.py", "radio.py", "env.py", "generator.py", "instance.py", "ddqn.py", "common.py",
                     f"{module.__name__.rsplit('.', 1)[1]}.py"):
            assert must in names, must
        closure = set(import_closure(module.__file__))
        assert closure <= set(module.SOURCES)
        assert not any(p.parent.name == "leo_handover" or p.name in ("report.py", "api.py") for p in closure)
    assert {"numpy_sac.py", "sac.py"} <= {p.name for p in ddqn_csac.SOURCES}
    assert "drl.py" not in {p.name for p in ddqn_csac.SOURCES} and "ddqn_csac.py" not in {p.name for p in drl.SOURCES}
