"""Family `sagin` (spec shared/spec/sagin.md): UAV link selection and trajectory control across ground (GN),
aerial (AN) and satellite (SN) base stations.

This module only registers (light imports); the API lives in `.api`. Modules: `instance` (schema, validation,
JSON), `generator` (seeded generation from presets), `buildings` (E2-E3), `antennas` (E4-E7, E14), `pathloss`
(E8-E16), `radio` (E17-E23, backends of §4.6), `mobility` (E24-E31), `formulation` (P0-P2 and the P2-L lattice,
§5), `evaluator` (§6), `lattice_dp` (§8.1), `p2l_milp` (§5.5, §8.2), `reference` (both as methods), `env` (the
batched environment, exact or cached backend) and `gym_env` (single-UAV and multi-UAV Gymnasium forms). The
baselines `sl` and `graph` are in `optkit.heuristics.sagin`, the learners in `optkit.learners.sagin`.
"""
from optkit.registry import FamilySpec, MethodSpec, register_family, register_method

_MODULE = "optkit.formulations.sagin.reference"

FAMILY = register_family(FamilySpec(
    id="sagin",
    title="UAV link selection and trajectory design in a space-air-ground integrated network",
    api="optkit.formulations.sagin.api",
    default_scenario="paper-default",
    reference_method="lattice-dp",
    test_scenario="ref-tiny",
    aliases=("p0", "p1", "p2", "p2-lattice"),
))

register_method(MethodSpec(
    family="sagin", id="lattice-dp", kind="exact", knowledge="oracle", seeded=False,
    entry=f"{_MODULE}:solve_lattice_dp",
    description="exact P2-L optimum per UAV on the lattice L(ref.h) by dynamic programming over (node, BS, tick, "
                "switches) (spec §8.1), full knowledge; option gain_mode segment|node",
))
register_method(MethodSpec(
    family="sagin", id="p2l-milp", kind="exact", knowledge="oracle", seeded=False,
    entry=f"{_MODULE}:solve_p2l_milp",
    description="P2-L as a Pyomo MILP per arrival tick, solved by HiGHS (spec §5.5, §8.2); ref-tiny-size "
                "cross-check of lattice-dp",
))
