"""Family `leo-handover`: terminal-side LEO serving-satellite selection, handovers vs. link duration.

docs/families/leo-handover.md describes the model; § numbers refer to it. This module only declares the family
and its offline references (light imports); the hooks live in `.api`.
"""
from optkit.family import FamilyAPI, ReportSettings, hooks_in
from optkit.options import Option, mip_options, time_limit
from optkit.registry import MethodSpec

_API = "optkit.formulations.leo_handover.api"
_MODULE = "optkit.formulations.leo_handover.reference"


def _lam(default) -> Option:
    return Option("lam", "float|str", default, "handover price λ of Σq − λH, or 'lex' (fewest handovers, then the "
                  "best reward)", choices=("lex",), low=0.0)


FAMILY = FamilyAPI(
    id="leo-handover",
    title="LEO serving-satellite selection for a terminal (handover count vs. link duration)",
    reference_method="offline-dp",
    default_scenario="paper-default",
    test_scenario="smoke",
    presets="optkit.datasets:leo-handover",
    aliases=("handover",),
    **hooks_in(_API, instance_class="LeoHandoverInstance", optional=("describe", "report_extras")),
    primary_metric="handovers",
    # The reference's bound is its own objective (Σq at H_min for "lex", Σq − λH otherwise), not a bound on the
    # reward G of other methods: the runner leaves frac_bound empty.
    reference_bound_is_dual=False,
    gym_envs={"optkit/LeoHandover-v0": "optkit.formulations.leo_handover.gym_env:LeoHandoverGymEnv"},
    # What `optkit report` shows (§6.3, §9); units and directions come from the metrics.
    report=ReportSettings(
        metrics=("handovers", "handover_freq", "link_duration", "link_duration_s", "reward", "eta_ho", "eta_ld",
                 "eta_g", "excess_handovers", "handovers_voluntary", "serving_elev_deg", "decision_s", "train_s"),
        sweep_panels=("handover_freq", "link_duration", "reward"),
        radar_axes=("eta_ho", "eta_ld", "eta_g", "retention"),
        heat_metrics=("eta_ho", "eta_g"),
        runtime_metric="decision_s",
        labels={"handovers": "handovers per episode H", "handover_freq": "handover frequency f_HO",
                "link_duration": "link-duration ratio LD", "link_duration_s": "mean link duration",
                "reward": "total reward G", "eta_ho": "H_min / H", "eta_ld": "LD / LD_max", "eta_g": "G / G_UB",
                "excess_handovers": "excess handovers H - H_min", "retention": "link retention κ",
                "decision_s": "decision time", "train_s": "training time"},
        sweep_labels={"n_sat": "satellites N_s", "reward_weights": "reward weight vector"},
    ),
)

METHODS = (
    MethodSpec(
        family="leo-handover", id="offline-minho", kind="exact", knowledge="oracle", seeded=False,
        entry=f"{_MODULE}:solve_minho",
        description="provably minimal handover schedule by greedy interval covering (§8.1), full knowledge",
    ),
    MethodSpec(
        family="leo-handover", id="offline-dp", kind="exact", knowledge="oracle", seeded=False,
        entry=f"{_MODULE}:solve_dp",
        description="Viterbi optimum of sum q - lam*H (lam >= 0, default 'lex': fewest handovers, then best reward) "
                    "(§8.2), full knowledge",
        options=(_lam("lex"),),
    ),
    MethodSpec(
        family="leo-handover", id="offline-milp", kind="exact", knowledge="oracle", seeded=False,
        entry=f"{_MODULE}:solve_milp",
        description="P2-lam as a Pyomo MILP solved by HiGHS, cross-check of offline-dp (§5.2, §8.3)",
        options=(_lam(1.0), time_limit(60.0), *mip_options(threads=False, log=False, export_model=False)),
    ),
)
