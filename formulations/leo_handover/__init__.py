"""Family `leo-handover`: terminal-side LEO serving-satellite selection, handovers vs. link duration.

Spec: shared/spec/leo_handover.md. This module only registers (light imports); the API lives in `.api`.
"""
from optkit.registry import FamilySpec, MethodSpec, register_family, register_method

_MODULE = "optkit.formulations.leo_handover.reference"

FAMILY = register_family(FamilySpec(
    id="leo-handover",
    title="LEO serving-satellite selection for a terminal (handover count vs. link duration)",
    api="optkit.formulations.leo_handover.api",
    default_scenario="paper-default",
    reference_method="offline-dp",
    test_scenario="smoke",
    aliases=("handover",),
))

register_method(MethodSpec(
    family="leo-handover", id="offline-minho", kind="exact", knowledge="oracle", seeded=False, entry=f"{_MODULE}:solve_minho",
    description="provably minimal handover schedule by greedy interval covering (spec §8.1), full knowledge",
))
register_method(MethodSpec(
    family="leo-handover", id="offline-dp", kind="exact", knowledge="oracle", seeded=False, entry=f"{_MODULE}:solve_dp",
    description="Viterbi optimum of sum q - lam*H (lam >= 0, default 'lex': fewest handovers, then best reward) "
                "(spec §8.2), full knowledge",
))
register_method(MethodSpec(
    family="leo-handover", id="offline-milp", kind="exact", knowledge="oracle", seeded=False, entry=f"{_MODULE}:solve_milp",
    description="P2-lam as a Pyomo MILP solved by HiGHS, cross-check of offline-dp (spec §5.2, §8.3)",
))
