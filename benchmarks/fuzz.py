"""Fuzz the instance files of every discovered family: mutate one field of the smallest (test) preset's instance and
run `optkit solve --instance F --format json --time-limit L` on it; count the outcomes per family and mutation kind.

    python benchmarks/fuzz.py [--cases 1000] [--time-limit 2] [--seed 0] [--out benchmarks/results/fuzz.md]

Each case runs in a child process forked from this one (the libraries are imported once), with stdout and stderr
captured, and is killed at time limit + 30 s. Outcomes:
  rejected   exit 2 with one `error:` line (the wanted answer to an implausible value)
  accepted   exit 0 with one JSON result (a plausible mutation)
  silent     exit 0 although the mutation is implausible (a dtype tag changed, a value 1e30 / NaN / huge / of the
             wrong type): a value silently changed or accepted out of range
  exit1      exit 1 (internal error);  traceback: "Traceback" on stderr;  other_exit: any other code
  past_limit the run took longer than its time limit + 10 s (killed at + 30 s)
Targets: 0 exit1, 0 traceback, 0 past_limit, 0 silent.

The mutation kinds (`MUTATIONS`) and `mutate` are shared with tests/test_fuzz.py.
"""
from __future__ import annotations

import argparse
import copy
import io
import json
import math
import os
import random
import resource
import signal
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

#: Mutation kinds. Implausible ones must be rejected (exit 2); plausible ones may be accepted or rejected.
IMPLAUSIBLE = ("huge_float", "neg_huge_float", "huge_int", "nan", "inf", "list_for_number", "string_for_number",
               "null", "dtype_tag", "array_entry_huge", "array_entry_inf", "array_entry_nan",
               "bool_for_number", "number_for_bool", "unknown_choice", "drop_field", "extra_field")
PLAUSIBLE = ("array_shape", "scale_up", "scale_down", "negate", "zero", "array_entry_flip", "array_entry_neg")
MUTATIONS = IMPLAUSIBLE + PLAUSIBLE
DTYPE_TAGS = ("<U3", "<f2", "<f4", "<i4", "|i1", "|b1", "<f8", "<i8", "|u1", "<c16", "|O")


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def applicable(kind: str, value) -> bool:
    """Whether mutation `kind` applies to a field holding `value` (a JSON value of the instance file)."""
    array = isinstance(value, dict) and "__ndarray__" in value
    if kind in ("drop_field", "extra_field"):
        return True
    if kind in ("huge_float", "neg_huge_float", "huge_int", "nan", "inf", "list_for_number", "string_for_number",
                "null", "bool_for_number", "scale_up", "scale_down", "negate", "zero"):
        return _is_number(value)
    if kind == "number_for_bool":
        return isinstance(value, bool)
    if kind == "unknown_choice":
        return isinstance(value, str)
    if kind in ("dtype_tag", "array_shape"):
        return array
    if kind.startswith("array_entry"):
        if not array or not value["shape"] or 0 in value["shape"]:
            return False
        flat = _flatten(value["__ndarray__"])
        if kind == "array_entry_flip":
            return isinstance(flat[0], bool)
        return _is_number(flat[0])
    return False


def _flatten(x):
    if isinstance(x, list):
        out = []
        for v in x:
            out.extend(_flatten(v))
        return out
    return [x]


def _set_flat(nested, index: int, value):
    """Set the index-th leaf (row-major) of a nested list."""
    count = [0]

    def walk(x):
        for i, v in enumerate(x):
            if isinstance(v, list):
                if walk(v):
                    return True
            else:
                if count[0] == index:
                    x[i] = value
                    return True
                count[0] += 1
        return False

    walk(nested)


def mutate(data: dict, field: str, kind: str, rng: random.Random) -> tuple[dict, bool]:
    """A mutated deep copy of instance JSON `data` (one field changed by `kind`) and whether the mutation is
    implausible (must be rejected). A dtype tag set to the field's own tag is plausible (nothing changes)."""
    out = copy.deepcopy(data)
    fields = out["fields"]
    value = fields[field]
    implausible = kind in IMPLAUSIBLE
    if kind == "huge_float":
        fields[field] = 1e30
    elif kind == "neg_huge_float":
        fields[field] = -1e30
    elif kind == "huge_int":
        fields[field] = 2 ** 70
    elif kind == "nan":
        fields[field] = math.nan
    elif kind == "inf":
        fields[field] = math.inf
    elif kind == "list_for_number":
        fields[field] = [value, value]
    elif kind == "string_for_number":
        fields[field] = str(value)
    elif kind == "null":
        fields[field] = None
    elif kind == "bool_for_number":
        fields[field] = True
    elif kind == "number_for_bool":
        fields[field] = 1
    elif kind == "unknown_choice":
        fields[field] = value + "-x" if value else "x"
        implausible = field not in ("preset", "name")      # a preset label is free text; other strings are choices
    elif kind == "dtype_tag":
        tag = rng.choice([t for t in DTYPE_TAGS if t != value["dtype"]])
        value["dtype"] = tag
    elif kind == "array_shape":
        shape = list(value["shape"])
        if shape and shape[0] > 0:
            value["__ndarray__"] = value["__ndarray__"][:-1]
            shape[0] -= 1
        else:
            value["__ndarray__"] = value["__ndarray__"] + [0] if not shape else [[0] * (shape[1] if len(shape) > 1 else 1)]
            shape = [1, *shape[1:]] if shape else [1]
        value["shape"] = shape
    elif kind.startswith("array_entry"):
        n = len(_flatten(value["__ndarray__"]))
        i = rng.randrange(n)
        old = _flatten(value["__ndarray__"])[i]
        new = {"array_entry_huge": rng.choice([1e30, 2 ** 70, -2 ** 70]), "array_entry_inf": rng.choice([math.inf, -math.inf]),
               "array_entry_nan": math.nan, "array_entry_flip": not old if isinstance(old, bool) else old,
               "array_entry_neg": -old if _is_number(old) else old}[kind]
        _set_flat(value["__ndarray__"], i, new)
    elif kind == "scale_up":
        fields[field] = value * rng.choice([2, 10]) if isinstance(value, int) else value * rng.choice([1.5, 10.0])
    elif kind == "scale_down":
        fields[field] = value // 2 if isinstance(value, int) else value * rng.choice([0.5, 0.1])
    elif kind == "negate":
        fields[field] = -value
    elif kind == "zero":
        fields[field] = 0 if isinstance(value, int) else 0.0
    elif kind == "drop_field":
        del fields[field]
    elif kind == "extra_field":
        fields[field + "_extra"] = 1.0
    else:
        raise ValueError(f"unknown mutation {kind}")
    return out, implausible


def test_instance(family: str) -> dict:
    """The instance JSON (a dict) of the family's test preset, seed 0."""
    from optkit import registry
    from optkit.api import make_instance

    fam = registry.get_family(family)
    return json.loads(make_instance(fam.id, fam.test_scenario, 0).to_json())


def cases(families: dict, n: int, seed: int):
    """n (family, field, kind, case seed) tuples spread evenly over families and mutation kinds."""
    rng = random.Random(seed)
    fams = sorted(families)
    out = []
    i = 0
    while len(out) < n:
        fam = fams[i % len(fams)]
        i += 1
        data = families[fam]
        kind = MUTATIONS[(i // len(fams)) % len(MUTATIONS)]
        names = [f for f, v in data["fields"].items() if applicable(kind, v)]
        if not names:
            continue
        out.append((fam, rng.choice(names), kind, rng.randrange(2 ** 31)))
    return out


def classify(code: int | None, stdout: str, stderr: str, wall: float, limit: float, implausible: bool) -> list[str]:
    """Outcome labels of one case (see the module docstring); the first is the main outcome."""
    labels = []
    if code is None:
        labels.append("past_limit")
    elif code == 2:
        lines = [ln for ln in stderr.splitlines() if ln.startswith("error:")]
        labels.append("rejected" if len(lines) == 1 else "rejected_unclear")
    elif code == 0:
        try:
            json.loads(stdout.strip().splitlines()[-1])
            labels.append("silent" if implausible else "accepted")
        except (json.JSONDecodeError, IndexError):
            labels.append("bad_stdout")
    elif code == 1:
        labels.append("exit1")
    else:
        labels.append(f"exit{code}")
    if "Traceback" in stderr:
        labels.append("traceback")
    if code is not None and wall > limit + 10:
        labels.append("past_limit")
    return labels


def run_forked(argv: list[str], kill_after: float) -> tuple[int | None, str, str, float, float]:
    """Run optkit's CLI main with `argv` in a forked child; (exit code or None when killed, stdout, stderr,
    wall s, child CPU s)."""
    out_f, err_f = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    pid = os.fork()
    if pid == 0:          # child
        try:
            os.setsid()
            os.dup2(out_f.fileno(), 1)
            os.dup2(err_f.fileno(), 2)
            sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), line_buffering=True)
            sys.stderr = io.TextIOWrapper(os.fdopen(2, "wb", closefd=False), line_buffering=True)
            sys.argv = ["optkit", *argv]
            from optkit.cli import main

            code = 0
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:      # noqa: BLE001 - reported as a traceback, like an uncaught error
                import traceback

                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if "code" in locals() else 1)
    code = None
    deadline = start + kill_after
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            break
        if time.perf_counter() > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            break
        time.sleep(0.02)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    texts = []
    for f in (out_f, err_f):
        f.seek(0)
        texts.append(f.read().decode("utf-8", "replace"))
        f.close()
    return code, texts[0], texts[1], wall, cpu


def run_case(data: dict, family: str, field: str, kind: str, case_seed: int, time_limit: float, workdir: Path,
             method: str | None = None):
    """Mutate, write, run in a fork; (labels, implausible, wall s, cpu s, first stderr error line)."""
    mutated, implausible = mutate(data, field, kind, random.Random(case_seed))
    if kind == "dtype_tag" and mutated["fields"][field]["dtype"] == data["fields"][field]["dtype"]:
        implausible = False
    path = workdir / f"{family}-{case_seed}.json"
    path.write_text(json.dumps(mutated))
    argv = ["solve", "-f", family, "--instance", str(path), "--format", "json", "--time-limit", str(time_limit),
            "--no-reference"]
    if method:
        argv += ["-m", method]
    code, out, err, wall, cpu = run_forked(argv, time_limit + 30)
    path.unlink()
    first = next((ln for ln in err.splitlines() if ln.startswith("error:")), "")
    return classify(code, out, err, wall, time_limit, implausible), implausible, wall, cpu, first


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--time-limit", type=float, default=2.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "fuzz.md"))
    args = ap.parse_args(argv)

    import optkit.cli  # noqa: F401  (import once in the parent: children are forked)
    from optkit import registry

    families = {f.id: test_instance(f.id) for f in registry.families()}
    todo = cases(families, args.cases, args.seed)
    counts: dict = defaultdict(Counter)
    worst: list = []
    wall_total = cpu_total = 0.0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i, (fam, field, kind, cs) in enumerate(todo):
            labels, implausible, wall, cpu, first = run_case(families[fam], fam, field, kind, cs, args.time_limit,
                                                             Path(tmp))
            wall_total += wall
            cpu_total += cpu
            for label in labels:
                counts[(fam, kind)][label] += 1
            counts[(fam, kind)]["cases"] += 1
            if any(l in ("exit1", "traceback", "past_limit", "silent", "bad_stdout", "rejected_unclear")
                   or l.startswith("exit") for l in labels):
                worst.append((fam, field, kind, cs, labels, round(wall, 1), first))
                print(f"[{i + 1}/{len(todo)}] {fam} {field} {kind}: {labels} {wall:.1f}s {first}", flush=True)
            elif (i + 1) % 50 == 0:
                print(f"[{i + 1}/{len(todo)}] {time.perf_counter() - started:.0f} s", flush=True)
    declared = {fam: declares_fields(fam) for fam in families}
    write_table(Path(args.out), counts, worst, args, wall_total, cpu_total, time.perf_counter() - started, declared)


def declares_fields(family: str) -> bool:
    """Whether the family declares its instance fields (a `schema` module beside its instance class)."""
    import importlib.util

    from optkit import registry

    package = registry.family_api(family).instance_class.__module__.rpartition(".")[0]
    return importlib.util.find_spec(f"{package}.schema") is not None


COLUMNS = ("cases", "rejected", "accepted", "silent", "exit1", "traceback", "past_limit", "other")


def write_table(path: Path, counts, worst, args, wall_total, cpu_total, elapsed, declared) -> None:
    def row(c: Counter) -> list:
        other = sum(v for k, v in c.items() if k not in COLUMNS)
        return [c["cases"], c["rejected"], c["accepted"], c["silent"], c["exit1"], c["traceback"], c["past_limit"],
                other]

    lines = ["# Instance-file fuzzing", "",
             f"`python benchmarks/fuzz.py --cases {args.cases} --time-limit {args.time_limit:g} --seed {args.seed}`: "
             "one field of the test preset's instance (seed 0) mutated per case, run through `optkit solve "
             "--instance F --format json --time-limit L --no-reference` (the family's reference method) in a forked "
             "child. `rejected`: exit 2 with one `error:` line; `accepted`: exit 0 with a JSON result after a "
             "plausible mutation; `silent`: exit 0 after an implausible one (a changed dtype tag, 1e30, NaN, a "
             "wrong type); `past_limit`: longer than the limit + 10 s; `other`: any other outcome. "
             "Targets: 0 silent, 0 exit1, 0 traceback, 0 past_limit.", "",
             f"Measured on a shared, loaded 2-core machine: {elapsed:.0f} s elapsed, children's wall "
             f"{wall_total:.0f} s and CPU {cpu_total:.0f} s in total.", "",
             "## Per family", "",
             "`fields`: the family declares its instance fields (formulations/<pkg>/schema.py, "
             "docs/guides/add-a-family.md); the others get only the loader's generic checks.", "",
             "| family | fields | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 2) + "|"]
    by_family: dict = defaultdict(Counter)
    by_kind: dict = defaultdict(Counter)
    for (fam, kind), c in counts.items():
        by_family[fam].update(c)
        by_kind[kind].update(c)
    total = Counter()
    for fam in sorted(by_family):
        total.update(by_family[fam])
        lines.append(f"| {fam} | {'yes' if declared.get(fam) else 'no'} | "
                     + " | ".join(map(str, row(by_family[fam]))) + " |")
    lines.append("| **all** | | " + " | ".join(map(str, row(total))) + " |")
    for flag in (True, False):
        sub = Counter()
        for fam in by_family:
            if declared.get(fam) == flag:
                sub.update(by_family[fam])
        if sub:
            lines.append(f"| **all {'declared' if flag else 'undeclared'}** | {'yes' if flag else 'no'} | "
                         + " | ".join(map(str, row(sub))) + " |")
    lines += ["", "## Per mutation kind", "", "| kind | implausible | " + " | ".join(COLUMNS) + " |",
              "|---" * (len(COLUMNS) + 2) + "|"]
    for kind in MUTATIONS:
        if kind in by_kind:
            lines.append(f"| {kind} | {'yes' if kind in IMPLAUSIBLE else 'no'} | "
                         + " | ".join(map(str, row(by_kind[kind]))) + " |")
    lines += ["", "## Cases off target", ""]
    if worst:
        lines += ["| family | field | kind | case seed | outcome | wall s | message |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {f} | {fl} | {k} | {cs} | {', '.join(lb)} | {w} | {m.replace('|', '/')[:120]} |"
                  for f, fl, k, cs, lb, w, m in worst]
    else:
        lines.append("None.")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
