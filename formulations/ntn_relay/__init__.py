"""Family `ntn-relay`: energy-efficient SAT–UAV relaying over hybrid FSO/RF links ("EE max").

docs/families/ntn-relay.md describes the model; § and E numbers refer to it. This module only declares the family
and its exact / offline references (light imports); the hooks live in `.api`.
"""
from optkit.family import FamilyAPI, ReportSettings, hooks_in
from optkit.options import Option
from optkit.registry import MethodSpec

_API = "optkit.formulations.ntn_relay.api"
_REF = "optkit.formulations.ntn_relay.reference"
_ASSOC = Option("association", "str", "enumeration", "exact per-slot association by enumeration or by the HiGHS "
                "MILP of §5.4 (same optimum)", choices=("enumeration", "milp"))

FAMILY = FamilyAPI(
    id="ntn-relay",
    title="energy-efficient LEO + multi-UAV relaying over hybrid FSO/RF links (EE max, Dinkelbach)",
    reference_method="static-loiter",
    default_scenario="paper-default",
    test_scenario="smoke",
    presets="optkit.datasets:ntn-relay",
    aliases=("ee-max", "ee-max-weighted", "sat-ground"),
    **hooks_in(_API, instance_class="NtnRelayInstance", optional=("describe", "cell_record", "report_extras")),
    primary_metric="ee_kbit_per_j",
    # static-loiter's association is exact for its own trajectory only: no bound on other methods.
    reference_bound_is_dual=False,
    gym_envs={"optkit/NtnRelay-v0": "optkit.formulations.ntn_relay.gym_env:NtnRelayGymEnv"},
    report=ReportSettings(
        metrics=("ee_kbit_per_j", "sum_tput_mbps", "avg_uav_power_w", "peak_tput_mbps", "worst_tput_mbps",
                 "p5_tput_mbps", "fso_ratio_pct", "handovers", "overlap_slots", "ub_ratio", "frac_of_ub",
                 "n_dist_violations", "decision_s"),
        sweep_panels=("ee_kbit_per_j", "sum_tput_mbps", "avg_uav_power_w"),
        labels={"ee_kbit_per_j": "energy efficiency EE", "sum_tput_mbps": "sum throughput",
                "avg_uav_power_w": "average UAV power", "ub_ratio": "UB / SAT-Ground",
                "frac_of_ub": "EE / EE_UB"},
        sweep_labels={"sats_per_lane": "SATs per lane I", "K": "UAVs K", "link_mode": "link type",
                      "reward_mode": "objective", "fso": "FSO constants", "rf_ref_snr_db": "γ0 (dB)"},
    ),
)

METHODS = (
    MethodSpec(family="ntn-relay", id="static-loiter", kind="exact", knowledge="oracle", seeded=False,
               entry=f"{_REF}:solve_static_loiter",
               description="UAVs circle at their start speed; association exact per slot for that trajectory "
                           "(§7.10; the reference of `optkit solve`, exact in its association only)",
               options=(Option("loiter_radius_km", "float", 2.0, "circle radius r_c", low=0.0, low_open=True),
                        _ASSOC)),
    MethodSpec(family="ntn-relay", id="sat-ground-coop", kind="exact", knowledge="oracle", seeded=False,
               entry=f"{_REF}:solve_sat_ground_coop",
               description="P2: relays fixed on the ground at their starts, cooperative association exact per slot "
                           "(§7.7)", options=(_ASSOC,)),
    MethodSpec(family="ntn-relay", id="sat-only", kind="exact", knowledge="oracle", seeded=False,
               entry=f"{_REF}:solve_sat_only",
               description="best SAT pair per slot without relay (templates S-L1-L2-D, S-L1-D; §7.9)"),
    MethodSpec(family="ntn-relay", id="direct", kind="exact", knowledge="oracle", seeded=False,
               entry=f"{_REF}:solve_direct", description="direct Src-Dst hybrid link (template S-D; §7.9)"),
    MethodSpec(family="ntn-relay", id="reachable-ub", kind="exact", knowledge="oracle", seeded=False,
               entry=f"{_REF}:solve_reachable_ub",
               description="reachable-set upper bound EE_UB on every trajectory (§8.2), reported as the bound of "
                           "the static-loiter solution",
               options=(Option("grid_km", "float", 5.0, "lattice spacing h of the bound", low=0.0, low_open=True),)),
    MethodSpec(family="ntn-relay", id="lattice-dp", kind="exact", knowledge="oracle", seeded=False,
               entry=f"{_REF}:solve_lattice_dp",
               description="K = 1: exact DP over constant-speed lattice paths, waypoints tracked by the heading "
                           "controller (§8.3)",
               options=(Option("macro_slots", "int", 10, "slots per lattice move M", low=1, high=100),)),
)
