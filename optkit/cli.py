"""The `optkit` command line. Heavy libraries (pyomo, torch, cvxpy) load only inside commands that need them."""
from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Optional

import typer

from optkit.budgets import BUDGETS as BUDGET_NAMES
from optkit.errors import InputError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="optkit: exact references, baselines and learners for wireless-network optimization.")

EXIT_INTERNAL, EXIT_INPUT = 1, 2
EXIT_SIGINT, EXIT_SIGTERM = 130, 143       # 128 + signal number, as shells report a signal's end


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """While the block runs, SIGTERM raises KeyboardInterrupt as Ctrl-C does (rows kept, tables written);
    yields a list that is non-empty once SIGTERM arrived."""
    received: list[int] = []

    def handler(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def _fail(code: int, message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def guarded(command):
    """Input errors: one line, exit 2. Anything unexpected: one line, exit 1 (OPTKIT_DEBUG=1 shows the traceback)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (typer.Exit, BrokenPipeError):
            raise
        except InputError as exc:
            _fail(EXIT_INPUT, str(exc))
        except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence, reported as exit 1
            if os.environ.get("OPTKIT_DEBUG"):
                traceback.print_exc()
            _fail(EXIT_INTERNAL, f"internal error: {type(exc).__name__}: {exc} (set OPTKIT_DEBUG=1 for the traceback)")

    return wrapper


def _check_output(flag: str, path: Path | None) -> None:
    """Fail before any work when an output path cannot be written."""
    if path is None:
        return
    parent = path.parent if str(path.parent) else Path(".")
    existing = next((p for p in [parent, *parent.parents] if p.exists()), Path("."))
    if path.is_dir() or not existing.is_dir() or not os.access(existing, os.W_OK):
        raise InputError(f"{flag}: cannot write '{path}' (a directory, or its folder is not writable)")
    import tempfile

    try:                      # the file system may still refuse (read-only mount, /proc): try a scratch file
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise InputError(f"{flag}: cannot write '{path}' ({exc.strerror or exc})") from None


def parse_options(items: list[str] | None) -> dict:
    """--option KEY=VALUE (repeatable): method options; VALUE is read as JSON (numbers, true/false, null) and
    otherwise taken as text. Keys may use - or _."""
    options = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key.isidentifier():
            raise InputError(f"--option: '{item}' must read KEY=VALUE")
        if key in options:
            raise InputError(f"--option: '{key}' given more than once")
        try:
            options[key] = json.loads(text)
        except json.JSONDecodeError:
            options[key] = text
    return options


def check_device(options: dict) -> None:
    """-O device=cuda on a torch build or machine without CUDA is an input error before any work."""
    if options.get("device") not in (None, "cpu"):
        import torch

        if str(options["device"]).startswith("cuda") and not torch.cuda.is_available():
            raise InputError(f"--option device={options['device']}: no CUDA device is usable here (torch "
                             f"{torch.__version__}, CUDA build: {torch.version.cuda or 'none'}); use device=cpu")


OPTION_OPTION = typer.Option(None, "--option", "-O", help="method option KEY=VALUE, repeatable (e.g. lam=lex, "
                                                          "episodes=1000, train_every=1, device=cuda)")


# Options shared by the commands that make an instance.
FORMULATION_OPTION = typer.Option(..., "--formulation", "-f", help="family id or formulation alias")
SCENARIO_OPTION = typer.Option(None, "--scenario", "--preset", "-s", help="preset id (default: the family's)")
SEED_OPTION = typer.Option(0, "--seed", min=0, help="instance seed")
POINT_OPTION = typer.Option(None, "--point", help="sweep point label of a sweep preset")


@app.command("list")
@guarded
def list_command(
    formulation: Optional[str] = typer.Option(None, "--formulation", "-f", help="only this family"),
    method: Optional[str] = typer.Option(None, "--method", "-m", help="only this method, with its options "
                                                                      "(needs --formulation)"),
) -> None:
    """List families, methods (kind, knowledge), scenario presets and experiments; with -m, a method's options."""
    from optkit import registry
    from optkit.experiments import experiment_ids, load_experiment
    from optkit.scenarios import load_scenario, scenario_ids

    if method is not None:
        if formulation is None:
            raise InputError("--method: needs --formulation (method ids are per family)")
        _print_method(registry.get_method(formulation, method))
        return
    chosen = [registry.get_family(formulation)] if formulation is not None else registry.families()
    for family in chosen:
        aliases = f" (aliases: {', '.join(family.aliases)})" if family.aliases else ""
        typer.echo(f"family {family.id}{aliases}: {family.title}")
        typer.echo(f"  default scenario: {family.default_scenario}; reference method: {family.reference_method}")
        typer.echo("  methods (optkit list -f FAMILY -m METHOD shows a method's options):")
        for m in registry.methods(family.id):
            typer.echo(f"    {m.id:<22} {m.kind:<10} {m.knowledge:<7} {m.description}")
        typer.echo("  scenarios:")
        for sid in scenario_ids(family.id):
            sc = load_scenario(family.id, sid)
            sweep = f" [sweep {sc.sweep_name}: {', '.join(p.label for p in sc.points)}]" if sc.points else ""
            typer.echo(f"    {sid:<22} {sc.description}{sweep}")
        exps = [e for e in experiment_ids() if load_experiment(e, "quick").family == family.id]
        if exps:
            typer.echo(f"  experiments (optkit bench --experiment ID [--budget {'|'.join(BUDGET_NAMES)}]):")
            for eid in exps:
                exp = load_experiment(eid, "paper")
                typer.echo(f"    {eid:<22} {exp.description}")


def _print_method(spec) -> None:
    """One method: kind, knowledge, description and every option (-O NAME=VALUE) with type, default and rule."""
    typer.echo(f"method {spec.id} of {spec.family}: {spec.kind}, {spec.knowledge} knowledge")
    typer.echo(f"  {spec.description}")
    typer.echo("  options (solve: -O NAME=VALUE or its own flag; train: options marked train):")
    for option in spec.all_options():
        stage = {"solve": "", "train": " [train only]", "both": " [also train]"}[option.stage]
        typer.echo(f"    {option.name:<16} {option.type:<9} default {option.default!r:<12} {option.rule()}{stage}")
        typer.echo(f"    {'':<16} {option.help}")


@app.command("instance")
@guarded
def instance_command(
    formulation: str = FORMULATION_OPTION,
    scenario: Optional[str] = SCENARIO_OPTION,
    seed: int = SEED_OPTION,
    point: Optional[str] = POINT_OPTION,
    output: Path = typer.Option(..., "-o", "--output", help="instance JSON file to write"),
) -> None:
    """Generate an instance and write it as JSON."""
    from optkit.api import make_instance

    _check_output("-o", output)
    inst = make_instance(formulation, scenario, seed, point=point)
    inst.save(output)
    typer.echo(f"wrote {output} ({inst.family}, {inst.preset}, seed {seed})")


@app.command("solve")
@guarded
def solve_command(
    formulation: str = FORMULATION_OPTION,
    scenario: Optional[str] = SCENARIO_OPTION,
    seed: int = SEED_OPTION,
    point: Optional[str] = POINT_OPTION,
    instance: Optional[Path] = typer.Option(None, "--instance", help="instance JSON (instead of scenario/seed)"),
    method: Optional[str] = typer.Option(None, "--method", "-m", help="method id (default: exact reference)"),
    method_seed: int = typer.Option(0, "--method-seed", min=0, help="seed of the method's own randomness"),
    time_limit: Optional[float] = typer.Option(None, "--time-limit",
                                               help="solver time limit, s (default: the family's limit for exact methods, "
                                                    "600 s)"),
    gap: Optional[float] = typer.Option(None, "--gap", help="relative MIP gap at which the solver stops"),
    solver: Optional[str] = typer.Option(None, "--solver", help="Pyomo solver name (default highs)"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="solver threads"),
    reference: bool = typer.Option(True, "--reference/--no-reference",
                                   help="also run the exact reference to fill frac_opt (non-reference methods)"),
    log: bool = typer.Option(False, "--log", help="stream the solver's progress log (to stderr)"),
    budget: Optional[str] = typer.Option(None, "--budget", help="learners: training budget check|smoke|quick|fast|reduced|paper (the family's _learners.toml lists its own)"),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="learners: a checkpoint from `optkit train -o`"),
    fmt: str = typer.Option("table", "--format", help="table or json"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="write the solution (decisions) JSON here"),
    export_model: Optional[Path] = typer.Option(None, "--export-model", help="write the model as .mps or .lp"),
    option: Optional[list[str]] = OPTION_OPTION,
) -> None:
    """Solve one instance with one method and print its evaluation."""
    from optkit import registry
    from optkit.api import evaluate, load_instance, make_instance, method_options, solve
    from optkit.instance import json_ready, write_text_atomic

    if fmt not in ("table", "json"):
        raise InputError(f"--format: must be 'table' or 'json', got '{fmt}'")
    if time_limit is not None and not (time_limit > 0 and math.isfinite(time_limit)):
        raise InputError("--time-limit: must be a positive number of seconds")
    if gap is not None and not (0 <= gap < 1):
        raise InputError("--gap: must lie in [0, 1)")
    if export_model is not None and export_model.suffix not in (".mps", ".lp"):
        raise InputError(f"--export-model: '{export_model}' must end in .mps or .lp")
    _check_output("-o", output)
    _check_output("--export-model", export_model)
    family = registry.get_family(formulation)
    spec = registry.get_method(family.id, method or family.reference_method)
    if solver is not None:
        from optkit.solver import check_solver

        check_solver(solver)
    if instance is not None:
        if scenario is not None or point is not None:
            raise InputError("--instance: give either an instance file or --scenario/--point, not both")
        inst = load_instance(instance, family.id)
    else:
        inst = make_instance(family.id, scenario, seed, point=point)
    if time_limit is None and spec.kind == "exact":
        time_limit = family.exact_time_limit
    # The solver log goes to stderr, so stdout keeps only the result (JSON stays parseable).
    options = {"gap": gap, "solver": solver, "threads": threads, "log": sys.stderr if log else None,
               "export_model": str(export_model) if export_model else None, "budget": budget,
               "checkpoint": str(checkpoint) if checkpoint else None,
               "progress": ProgressPrinter() if spec.takes("progress") and not log else None}
    extra = parse_options(option)
    clash = sorted(set(extra) & (set(options) | {"time_limit", "seed"}))
    if clash:
        raise InputError(f"--option: {', '.join(clash)} has its own flag")
    options.update(extra)
    method_options(spec, {"time_limit": time_limit, **options})   # reject unused flags before any work
    check_device(options)
    typer.echo(f"optkit: {family.id}/{inst.preset} seed {inst.seed}: running '{spec.id}'"
               + (f" (time limit {time_limit:g} s)" if time_limit else ""), err=True)
    solution = run_limited(spec, time_limit, lambda: solve(inst, spec.id, seed=method_seed, time_limit=time_limit,
                                                            **options))
    ref_solution = None
    if spec.id == family.reference_method:
        ref_solution = solution
    elif reference:
        typer.echo(f"optkit: running the reference '{family.reference_method}' for frac_opt"
                   f" (time limit {time_limit or family.exact_time_limit:g} s; --no-reference skips it)", err=True)
        ref_spec = registry.get_method(family.id, family.reference_method)
        ref_options = {"progress": ProgressPrinter()} if ref_spec.takes("progress") else {}
        ref_limit = time_limit or family.exact_time_limit
        ref_solution = run_limited(ref_spec, ref_limit, lambda: solve(inst, family.reference_method,
                                                                      time_limit=ref_limit, **ref_options))
        if ref_solution.decisions is None:
            ref_solution = None
    evaluation = evaluate(inst, solution, reference=ref_solution) if solution.decisions is not None else None
    result = result_fields(family.id, inst, spec.id, solution, evaluation)
    if output is not None:
        api = registry.family_api(family.id)
        payload = {**result, "method_seed": method_seed, "info": solution.info,
                   "decisions": None if solution.decisions is None else api.decisions_to_jsonable(solution.decisions)}
        write_text_atomic(output, json.dumps(json_ready(payload), indent=1))
    if fmt == "json":
        typer.echo(json.dumps(json_ready(result)))
    else:
        _print_table(result, solution.info)
        typer.echo(certificate(solution.status, result["objective"], result["bound"], result["gap"],
                               solution.runtime_s, model=solution.model, method_objective=solution.objective))


@app.command("bench")
@guarded
def bench_command(
    formulation: Optional[str] = typer.Option(None, "--formulation", "-f", help="family id or formulation alias"),
    scenario: Optional[str] = typer.Option(None, "--scenario", "--preset", "-s",
                                           help="preset id (a sweep preset runs every point); comma-separated for several"),
    experiment: Optional[str] = typer.Option(None, "--experiment", "-e",
                                             help="named experiment (fixes family, presets, methods, seeds)"),
    points: Optional[str] = typer.Option(None, "--points", help="sweep point labels to run, comma-separated (default all)"),
    methods: Optional[str] = typer.Option(None, "--methods", "-m", help="m1,m2 or all (default all)"),
    seeds: Optional[str] = typer.Option(None, "--seeds", help="instance seeds, e.g. 0-9 or 0,3,5 (default 0-9)"),
    method_seeds: Optional[str] = typer.Option(None, "--method-seeds", help="method seeds (default 0)"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="results directory (default runs/<sweep>)"),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="cells run in parallel (one thread each)"),
    time_limit: Optional[float] = typer.Option(None, "--time-limit", help="per-cell solver limit, s"),
    budget: Optional[str] = typer.Option(None, "--budget", help="learner budget and experiment size: "
                                         + "|".join(BUDGET_NAMES) + " (default quick)"),
    executor: str = typer.Option("local", "--executor", help="local (process pool) or dask"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="dask scheduler address (with --executor dask)"),
    resume: bool = typer.Option(False, "--resume", help="continue the sweep stored in --out (options may be omitted)"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="progress bar on stderr"),
) -> None:
    """Run methods x instances into a results directory (tidy rows, parquet and csv); re-running resumes."""
    from optkit import registry
    from optkit.bench import check_executor, check_out, load_manifest_sweep, make_sweep, run_sweep

    sweep_given = any(v is not None for v in (formulation, scenario, experiment, methods, seeds, method_seeds,
                                              time_limit, budget, points))
    point_list = [p.strip() for p in points.split(",") if p.strip()] if points is not None else None
    if resume and not sweep_given:
        if out is None:
            raise InputError("--resume: needs --out DIR (the directory of the run to continue)")
        sweep = load_manifest_sweep(out)
    elif experiment is not None:
        if formulation is not None or scenario is not None or methods is not None:
            raise InputError("--experiment: fixes the family, presets and methods; drop --formulation/--scenario/--methods")
        from optkit.experiments import load_experiment

        exp = load_experiment(experiment, budget or "quick")
        for line in experiment_substitutions(exp, load_experiment(experiment, "paper"), budget or "quick"):
            typer.echo(line, err=True)
        sweep = make_sweep(exp.family, exp.scenarios, exp.methods, seeds or exp.seeds,
                           method_seeds=method_seeds or exp.method_seeds, configs=exp.configs,
                           budget=budget or "quick",
                           time_limit=time_limit if time_limit is not None else exp.time_limit, experiment=exp.id,
                           points=point_list if point_list is not None else exp.points)
    else:
        if formulation is None:
            raise InputError("--formulation: required unless --experiment is given")
        family = registry.get_family(formulation)
        scenarios = [s.strip() for s in (scenario or family.default_scenario).split(",") if s.strip()]
        sweep = make_sweep(family.id, scenarios, methods or "all", seeds or "0-9", method_seeds=method_seeds or "0",
                           budget=budget or "quick", time_limit=time_limit, points=point_list)
    if out is None:
        name = sweep.experiment or f"{sweep.family}-{'+'.join(sweep.scenarios)}"
        out = Path("runs") / f"{name}-{sweep.budget}"
    check_executor(executor, jobs, scheduler)
    check_out(out, sweep)
    cells = sweep.cells()
    typer.echo(f"optkit: bench {sweep.family} {', '.join(sweep.scenarios)}: {len(cells)} cells "
               f"({len(sweep.methods)} methods x {len(sweep.seeds)} seeds x points/configs) -> {out}", err=True)
    from concurrent.futures.process import BrokenProcessPool

    from optkit.bench import read_rows

    resume_hint = "run the same command (or `optkit bench --resume --out DIR`) to finish"
    try:
        with _sigterm_as_interrupt() as received:
            df = run_sweep(sweep, out, jobs=jobs, executor=executor, scheduler=scheduler, progress=progress)
    except KeyboardInterrupt:
        why = "terminated (SIGTERM)" if received else "interrupted"
        typer.echo(f"\noptkit: {why}; {len(read_rows(out))} of {len(cells)} cells are kept in {out}; {resume_hint}",
                   err=True)
        raise typer.Exit(EXIT_SIGTERM if received else EXIT_SIGINT) from None
    except BrokenProcessPool:
        typer.echo(f"\noptkit: a worker process died (killed or out of memory); {len(read_rows(out))} of "
                   f"{len(cells)} cells are kept in {out}; {resume_hint}", err=True)
        raise typer.Exit(EXIT_INTERNAL) from None
    failed = int((df["status"] == "error").sum()) if not df.empty else 0
    typer.echo(f"optkit: {len(df)} rows in {out / 'results.parquet'} and results.csv ({failed} failed cells); "
               f"`optkit report {out}` writes the report", err=True)


@app.command("train")
@guarded
def train_command(
    formulation: str = FORMULATION_OPTION,
    method: str = typer.Option(..., "--method", "-m", help="learner method id"),
    scenario: Optional[str] = SCENARIO_OPTION,
    point: Optional[str] = POINT_OPTION,
    seed: int = typer.Option(0, "--seed", min=0, help="training seed (the method seed of bench rows)"),
    budget: str = typer.Option("quick", "--budget", help="|".join(BUDGET_NAMES)),
    output: Optional[Path] = typer.Option(None, "-o", "--output",
                                          help="also copy the checkpoint here (it is cached in any case)"),
    option: Optional[list[str]] = OPTION_OPTION,
) -> None:
    """Train a learner on the training seeds of a preset (point) and cache its checkpoint."""
    from optkit import registry
    from optkit.api import scenario_params
    from optkit.instance import json_ready

    if budget not in BUDGET_NAMES:
        raise InputError(f"--budget: '{budget}' is not one of {', '.join(BUDGET_NAMES)}")
    family = registry.get_family(formulation)
    spec = registry.get_method(family.id, method)
    train = spec.load_train()
    _check_output("-o", output)
    scenario = scenario or family.default_scenario
    scenario_params(family.id, scenario, point)      # validates scenario and point before training
    extra = parse_options(option)
    own = sorted(k for k in extra if k in ("family", "scenario", "point", "seed", "budget", "out", "progress"))
    if own:
        raise InputError(f"--option: {', '.join(own)} has its own flag")
    extra = spec.bind(extra, stage="train")
    check_device(extra)
    typer.echo(f"optkit: training '{spec.id}' on {family.id}/{scenario}{':' + point if point else ''}"
               f" (budget {budget}, seed {seed})", err=True)
    result = train(family.id, scenario, point, seed=seed, budget=budget,
                   out=str(output) if output else None, progress=True, **extra)
    typer.echo(json.dumps(json_ready({k: v for k, v in result.items() if k != "curve"})))


@app.command("report")
@guarded
def report_command(
    directory: Path = typer.Argument(..., help="results directory written by `optkit bench`"),
) -> None:
    """Write DIR/report.md, DIR/figures/*.png and DIR/report.html from a results directory."""
    from optkit.report import REPORT_HTML, write_report

    check_manifest(directory)
    path = write_report(directory)
    typer.echo(f"wrote {path}, {directory / REPORT_HTML} and {directory / 'figures'}")


def check_manifest(directory: Path) -> None:
    """A results directory's manifest.json has the shape `optkit bench` writes (sweep: family, scenarios, points;
    cells: one object per cell with the id columns), else an input error naming what is wrong."""
    from optkit.bench import ID_COLUMNS, MANIFEST

    path = Path(directory) / MANIFEST
    if not path.is_file():
        return                                    # write_report says that the directory is not a results directory
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise InputError(f"report: '{path}' cannot be read as JSON ({type(exc).__name__})") from None
    sweep = manifest.get("sweep") if isinstance(manifest, dict) else None
    cells = manifest.get("cells") if isinstance(manifest, dict) else None
    problem = None
    if not isinstance(sweep, dict) or not isinstance(cells, list):
        problem = "needs an object 'sweep' and a list 'cells'"
    elif not isinstance(sweep.get("family"), str):
        problem = "sweep.family must be a family id"
    elif not isinstance(sweep.get("scenarios"), list) or not all(isinstance(x, str) for x in sweep["scenarios"]):
        problem = "sweep.scenarios must be a list of preset ids"
    elif not isinstance(sweep.get("points") or {}, dict) or not all(
            isinstance(v, list) and all(isinstance(p, list) and len(p) == 2 for p in v)
            for v in (sweep.get("points") or {}).values()):
        problem = "sweep.points must map presets to [label, name] pairs"
    elif not all(isinstance(c, dict) and set(ID_COLUMNS) <= set(c) for c in cells):
        problem = f"every cell must be an object with {', '.join(ID_COLUMNS)}"
    if problem:
        raise InputError(f"report: '{path}' is not an optkit manifest ({problem})")


def experiment_substitutions(run, paper, budget: str) -> list[str]:
    """Lines that say what an experiment run at a smaller budget changes against its paper-budget protocol."""
    fields = (("scenarios", "presets"), ("points", "sweep points"), ("seeds", "seeds"),
              ("method_seeds", "method seeds"), ("methods", "methods"), ("time_limit", "time limit"))
    changed = [f"{label} {_listing(getattr(run, name))} instead of {_listing(getattr(paper, name))}"
               for name, label in fields if getattr(run, name) != getattr(paper, name)]
    if budget == "paper" or not changed:
        return []
    return [f"optkit: experiment {run.id} at budget {budget} is reduced against the paper budget: " + "; ".join(changed)]


def _listing(value) -> str:
    if value is None:
        return "all"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def _stderr_handle():
    """A new text handle on the process's current stderr file, or sys.stderr itself when it is no file (a test
    runner's capture)."""
    try:
        return os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1, closefd=True)
    except (AttributeError, OSError, ValueError):        # io.UnsupportedOperation is an OSError and a ValueError
        return sys.stderr


class ProgressPrinter:
    """Solver progress on stderr, one line per improved incumbent and at least every `every_s` seconds:
    elapsed time, incumbent, bound and relative gap."""

    def __init__(self, every_s: float = 5.0, stream=None):
        self.every_s = every_s
        # A handle on the terminal's stderr taken now: while a solver runs, Pyomo redirects file descriptors 1 and
        # 2 into its log capture, and lines written to sys.stderr then would not be seen.
        self.stream = stream or _stderr_handle()
        self.best = None
        self.last = -math.inf

    def __call__(self, elapsed: float, incumbent, bound, gap) -> None:
        improved = incumbent is not None and incumbent != self.best
        if not improved and elapsed - self.last < self.every_s:
            return
        self.best, self.last = incumbent, elapsed
        shown = "none yet" if incumbent is None else f"{incumbent:.6g}"
        bound_text = "-" if bound is None else f"{bound:.6g}"
        gap_text = "-" if gap is None or not math.isfinite(gap) else f"{100 * gap:.2f} %"
        self.stream.write(f"optkit: {elapsed:7.1f} s  incumbent {shown}  bound {bound_text}  gap {gap_text}\n")
        self.stream.flush()


def result_fields(family: str, inst, method: str, solution, evaluation) -> dict:
    """The result of one solve: `objective` is the family objective of the decisions (the evaluator's), `bound` a
    valid bound on that same objective or None, `gap` their relative gap (optkit.solution.relative_gap); a method
    whose own objective is another model's (Solution.model) adds it as model, method_objective, method_bound."""
    from optkit.solution import family_fields

    objective = None if evaluation is None else evaluation.metrics["objective"]
    bound, gap = family_fields(solution, objective) if evaluation is not None else (None, None)
    result = {"family": family, "scenario": inst.preset, "seed": int(inst.seed), "method": method,
              "status": str(solution.status), "objective": objective, "bound": bound, "gap": gap,
              "runtime_s": solution.runtime_s, "metrics": {} if evaluation is None else evaluation.metrics,
              "violations": {} if evaluation is None else evaluation.violations}
    if evaluation is None:
        result["message"] = str(solution.info.get("message", ""))
    if solution.model:
        result.update(model=solution.model, method_objective=solution.objective, method_bound=solution.bound)
    return result


def run_limited(spec, time_limit, call):
    """call() under the backstop of optkit.limits (learners excluded: their limit does not cover training); a run
    stopped by it is a time_limit Solution without decisions."""
    import time

    from optkit.limits import TimeLimitReached, hard_time_limit
    from optkit.solution import Solution, Status

    start = time.perf_counter()
    try:
        with hard_time_limit(time_limit if spec.kind != "learner" else None):
            return call()
    except TimeLimitReached as exc:
        return Solution(family=spec.family, method=spec.id, status=Status.TIME_LIMIT, decisions=None,
                        runtime_s=time.perf_counter() - start,
                        info={"message": f"{exc}; the method returned no decisions"})


def certificate(status, objective, bound, gap, runtime_s: float, model: str = "", method_objective=None) -> str:
    """One line that says what the result proves: a proven optimum, an incumbent with bound and gap, an optimum of
    the method's own model (which bounds nothing else), or a solution without a bound."""
    value = "-" if objective is None else f"{objective:.6g}"
    if model and str(status) == "optimal":
        own = "-" if method_objective is None else f"{method_objective:.6g}"
        return (f"result: OPTIMAL FOR THE METHOD'S MODEL ({model}): model value {own}; the family objective of these "
                f"decisions is {value}, with no bound on it")
    if str(status) == "optimal":
        bound_text = "-" if bound is None else f"{bound:.6g}"
        return f"result: PROVEN OPTIMAL, objective {value} (bound {bound_text}, gap {100 * (gap or 0.0):.2g} %)"
    if str(status) in ("infeasible", "error"):
        return f"result: {str(status).upper()}: no solution to certify (see status and message)"
    if bound is not None and gap is not None:
        return (f"result: NOT PROVEN OPTIMAL ({status}): incumbent {value}, bound {bound:.6g}, gap "
                f"{100 * gap:.3g} % after {runtime_s:.0f} s; the optimum lies between the two. A longer "
                "--time-limit (and --gap 0) asks for a proof")
    if str(status) == "time_limit":
        return (f"result: NOT PROVEN OPTIMAL (time_limit): objective {value} after {runtime_s:.0f} s, no bound "
                "(the run stopped before it had one)")
    return f"result: {status}, objective {value}, no bound (this method proves nothing about the optimum)"


def _print_table(result: dict, info: dict) -> None:
    def fmt(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return "nan" if math.isnan(v) else f"{v:.6g}"
        return str(v)

    head = ["family", "scenario", "seed", "method", "status", "objective", "bound", "gap", "runtime_s"]
    for key in head:
        typer.echo(f"{key:<20} {fmt(result[key])}")
    for key in ("variables", "constraints", "build_s", "solve_s", "termination"):
        if key in info:
            typer.echo(f"{key:<20} {fmt(info[key])}")
    typer.echo("metrics:")
    for key, value in result["metrics"].items():
        typer.echo(f"  {key:<20} {fmt(value)}")
    typer.echo("violations: " + (", ".join(f"{k}={fmt(v)}" for k, v in result["violations"].items()) or "none"))


def main() -> None:
    """Entry point: usage errors become one `error:` line with exit 2 (click would print a boxed panel)."""
    try:   # typer >= 0.22 vendors click
        from typer import _click as click
    except ImportError:
        import click

    command = typer.main.get_command(app)
    try:
        code = command.main(standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:   # bare `optkit`: click already rendered the help
        typer.echo(exc.format_message())
        code = 0
    except click.exceptions.UsageError as exc:
        typer.echo(f"error: {exc.format_message()}", err=True)
        code = EXIT_INPUT
    except (BrokenPipeError, KeyboardInterrupt):        # `optkit list | head`, Ctrl-C
        code = EXIT_INTERNAL if sys.exc_info()[0] is KeyboardInterrupt else 0
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    sys.exit(main())
