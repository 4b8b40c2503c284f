"""Family `uav-ugv`: joint UAV–UGV positioning and trajectory planning for sum-rate maximization.

docs/families/uav-ugv.md describes the model; § and equation numbers refer to it. This module only declares the
family and its exact references (light imports); the hooks live in `.api`.
"""
from optkit.family import FamilyAPI, ReportSettings, hooks_in
from optkit.options import Option
from optkit.registry import MethodSpec

_API = "optkit.formulations.uav_ugv.api"
_MODULE = "optkit.formulations.uav_ugv.reference"

FAMILY = FamilyAPI(
    id="uav-ugv",
    title="UAV positioning with road-bound UGV backhaul for downlink sum-rate maximization",
    reference_method="ref-grid-dp",
    default_scenario="tiny-exact",
    test_scenario="tiny-exact",
    presets="optkit.datasets:uav-ugv",
    aliases=("sum-rate",),
    **hooks_in(_API, instance_class="UavUgvInstance", optional=("describe", "cell_record", "report_extras")),
    primary_metric="objective",
    # ref-grid-dp bounds the lattice-restricted problem only (§8.1): the runner leaves frac_bound empty.
    reference_bound_is_dual=False,
    exact_time_limit=120.0,
    gym_envs={"optkit/UavUgv-v0": "optkit.formulations.uav_ugv.gym_env:UavUgvGymEnv"},
    report=ReportSettings(
        metrics=("objective", "sum_rate_mbps", "qos_satisfaction", "backhaul_outages", "safety_violations",
                 "sum_rate_mbps_e28", "objective_e28", "ugv_path_km", "mean_altitude_m", "fraction_of_opt",
                 "decision_s"),
        sweep_panels=("sum_rate_mbps", "objective", "qos_satisfaction"),
        heat_metrics=("objective",),
        labels={"objective": "objective J (Mbit/s)", "sum_rate_mbps": "sum rate R̄ (Mbit/s)",
                "qos_satisfaction": "QoS satisfaction", "backhaul_outages": "backhaul outages (UAV-slots)",
                "sum_rate_mbps_e28": "sum rate under E28 (Mbit/s)", "objective_e28": "objective under E28"},
        sweep_labels={"n_users": "users K", "n_ugvs": "UGVs M"},
    ),
)

METHODS = (
    MethodSpec(
        family="uav-ugv", id="ref-grid-dp", kind="exact", knowledge="oracle", seeded=False,
        entry=f"{_MODULE}:solve_grid_dp",
        description="exact optimum of the lattice-restricted problem for U = 2 (tiny-exact) by joint-state DP "
                    "with exact association, C1 checked by UGV DP / P-G MILP (§8.1)",
    ),
    MethodSpec(
        family="uav-ugv", id="ref-assoc-milp", kind="exact", knowledge="oracle",
        entry=f"{_MODULE}:solve_assoc_milp",
        description="exact per-slot association (P-A MILP, HiGHS) on the static-kmeans trajectory; the better of "
                    "the MILP incumbent and the rules (§5.3.1, §8.2)",
        options=(Option("time_limit", "float", 30.0, "MILP time limit per slot, s", low=0.0, low_open=True,
                        nullable=True),
                 Option("form", "str", "disaggregated", "P-A form (A11-A13, or the compact A1-A10)",
                        choices=("disaggregated", "compact")),
                 Option("slots", "str", "all", "'all' or the slots to solve, e.g. 5,10,15,20,25 (§8.2)")),
    ),
    MethodSpec(
        family="uav-ugv", id="ref-ugv-milp", kind="exact", knowledge="oracle", seeded=True,
        entry=f"{_MODULE}:solve_ugv_milp",
        description="minimum backhaul outages over UGV routes (P-G MILP with G7, HiGHS) on the static-kmeans "
                    "trajectory; outage count, bound and MILP status in info (§5.3.2, §8.3)",
        options=(Option("time_limit", "float", 300.0, "MILP time limit, s", low=0.0, low_open=True, nullable=True),),
    ),
)
