"""Family `allocate`: energy-aware multiple-access service orchestration in UAV-assisted vehicular networks.

docs/families/allocate.md describes the model, the formulation and the methods. This module only declares the
family and its exact method (light imports); the hooks live in `.api`.
"""
from optkit.family import FamilyAPI, ReportSettings, hooks_in
from optkit.options import Option, mip_options, time_limit
from optkit.registry import MethodSpec

_API = "optkit.formulations.allocate.api"

FAMILY = FamilyAPI(
    id="allocate",
    title="UAV-assisted vehicular service orchestration (trajectory, multiple access, placement, routing)",
    reference_method="allocate",
    default_scenario="tiny",         # the main job: proven within its 30 s on 2 cores (benchmarks/results)
    test_scenario="tiny",
    presets="optkit.datasets:allocate",
    **hooks_in(_API, instance_class="AllocateInstance", optional=("describe", "report_extras")),
    primary_metric="objective",
    exact_time_limit=30.0,           # the main job answers within about 30 s; --time-limit asks for longer
    # What `optkit report` shows (§6.4, §9); units and directions come from the metrics.
    report=ReportSettings(
        metrics=("acc_pct", "energy_per_request", "latency_ms", "objective", "efficiency", "frac_opt", "frac_opt_of",
                 "runtime_s", "train_s"),
        sweep_panels=("acc_pct", "energy_per_request", "latency_ms"),
        # radar: acceptance, accepted requests per energy and latency of the accepted requests, so that "better"
        # is outward for every method (energy per offered request W / R would score a method that accepts nothing
        # best and the exact optimum, which serves the most requests, worst)
        radar_axes=("acc_pct", "efficiency", "latency_acc_ms"),
        heat_metrics=("efficiency", "frac_opt"),
        runtime_metric="runtime_s",
        labels={"acc_pct": "acceptance", "energy_per_request": "energy per request", "latency_ms": "E2E latency",
                "efficiency": "efficiency (accepted / energy)",
                "latency_acc_ms": "E2E latency of accepted requests", "frac_opt": "fraction of optimum (efficiency)",
                "frac_opt_of": "fraction of optimum (objective)", "runtime_s": "runtime", "train_s": "training time"},
        sweep_labels={"R": "requests per episode R", "N": "network nodes N", "C": "channels C"},
    ),
)

METHODS = (
    MethodSpec(
        family="allocate", id="allocate", kind="exact", knowledge="oracle",
        entry="optkit.formulations.allocate.milp:solve",
        description="exact offline MILP of ALLOCATE (Pyomo + HiGHS), complete knowledge",
        options=(
            time_limit(600.0),
            *mip_options(gap=1e-4),
            Option("route_set", "str", "candidates", "routes of the model: the generator's candidates or all simple "
                   "paths", choices=("candidates", "all")),
            Option("movement", "str", "auto", "UAV movement rows: transition (pairwise), compact, or auto by size",
                   choices=("auto", "transition", "compact")),
            Option("capacity_mode", "str", "assign", "host capacity: per assignment or per instance load",
                   choices=("assign", "instance_load")),
            Option("tighten", "bool", True, "add the exact tightening rows"),
            Option("host_sets", "bool", False, "add the exact host-set valid inequalities (tighter LP bound)"),
            Option("lp_bound", "bool", False, "also solve the LP relaxation and record its bound"),
            Option("z_continuous", "bool", True, "exact reduction: channel variables Z continuous (integral Z "
                   "re-solved before the record is read)"),
            Option("poa_from_routes", "bool", True, "exact reduction: no PoA variables B, the PoA is the route's "
                   "head"),
            Option("aggregate_routes", "bool", True, "exact reduction: merge routes with one physical path"),
            Option("warm_start", "bool", True, "primal phase (constructive plan, fix-S polish, one-frame local "
                   "search) and its best plan as MIP start"),
            Option("primal_share", "float", 0.3, "share of the time limit (of 120 s without one) for the primal "
                   "phase", low=0.0, high=1.0),
            Option("progress", "any", None, "callable(elapsed_s, incumbent, bound, gap) for solver progress"),
        ),
    ),
    MethodSpec(
        family="allocate", id="allocate-benders", kind="exact", knowledge="oracle", seeded=False,
        entry="optkit.formulations.allocate.benders:solve",
        description="exact offline optimum of ALLOCATE by logic-based Benders decomposition: master over UAV areas "
                    "and acceptance, exact per-frame placement subproblems (§7.8); tighter certified gaps than "
                    "`allocate` within a limit on `small`",
        options=(
            time_limit(600.0),
            *mip_options(gap=1e-4, export_model=False),
            Option("route_set", "str", "candidates", "routes of the model: the generator's candidates or all simple "
                   "paths", choices=("candidates", "all")),
            Option("movement", "str", "auto", "UAV movement rows of the master: transition (pairwise), compact, or "
                   "auto by size", choices=("auto", "transition", "compact")),
            Option("max_iterations", "int", None, "stop after this many master solves (default: no limit)", low=1,
                   nullable=True),
        ),
    ),
)
