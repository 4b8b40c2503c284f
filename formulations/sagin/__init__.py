"""Family `sagin`: UAV link selection and trajectory control across ground (GN), aerial (AN) and satellite (SN)
base stations. docs/families/sagin.md describes the model; § numbers refer to it.

This module only declares the family and its exact references (light imports); the hooks live in `.api`.
Modules: `instance` (schema, validation, JSON), `generator` (seeded generation from presets), `buildings`
(E2-E3), `antennas` (E4-E7, E14), `pathloss` (E8-E16), `radio` (E17-E23, backends of §4.6), `mobility`
(E24-E31), `formulation` (P0-P2 and the P2-L lattice, §5), `evaluator` (§6), `lattice_dp` (§8.1), `p2l_milp`
(§5.5, §8.2), `reference` (both as methods), `env` (the batched environment, exact or cached backend) and
`gym_env` (single-UAV and multi-UAV Gymnasium forms). The baselines `sl` and `graph` are in
`optkit.heuristics.sagin`, the learners in `optkit.learners.sagin`.
"""
from optkit.family import FamilyAPI, ReportSettings, hooks_in
from optkit.options import Option, mip_options, time_limit
from optkit.registry import MethodSpec

_API = "optkit.formulations.sagin.api"
_MODULE = "optkit.formulations.sagin.reference"
_GAIN_MODE = Option("gain_mode", "str", None, "lattice gains per segment or per node (default: the instance's "
                    "ref.gain_mode)", choices=("segment", "node"), nullable=True)

FAMILY = FamilyAPI(
    id="sagin",
    title="UAV link selection and trajectory design in a space-air-ground integrated network",
    reference_method="lattice-dp",
    default_scenario="paper-default",
    test_scenario="ref-tiny",
    presets="optkit.datasets:sagin",
    aliases=("p0", "p1", "p2", "p2-lattice"),
    **hooks_in(_API, instance_class="SaginInstance", optional=("describe", "cell_record", "report_extras")),
    primary_metric="objective",
    # The lattice optimum bounds P2-L only: a continuous-direction method may exceed it (§6.5), so the runner leaves
    # frac_bound empty; frac_ref (the evaluator's §6.5 comparison) is the fraction of the reference.
    reference_bound_is_dual=False,
    gym_envs={"optkit/Sagin-v0": "optkit.formulations.sagin.gym_env:SaginGymEnv",
              "optkit/SaginMulti-v0": "optkit.formulations.sagin.gym_env:SaginMultiGymEnv"},
    # What `optkit report` shows (§6.3, §9); units and directions come from the metrics.
    report=ReportSettings(
        metrics=("rate_mbps", "switches", "qsr_pct", "flight_time_s", "objective", "mission_qos", "success",
                 "frac_ref", "gap_ref", "boundary_events", "direction_projections", "decision_s", "train_s"),
        sweep_panels=("rate_mbps", "switches", "qsr_pct", "flight_time_s"),      # the paper's four metrics
        radar_axes=("rate_mbps", "switches", "qsr_pct", "flight_time_s", "success"),
        heat_metrics=("objective", "frac_ref"),
        runtime_metric="decision_s",
        labels={"rate_mbps": "average link rate R̄", "switches": "link switches N_u",
                "qsr_pct": "QoS satisfaction ratio", "flight_time_s": "flight time T", "objective": "objective J",
                "mission_qos": "mission QoS share", "success": "arrival share", "frac_ref": "fraction of lattice-dp J",
                "gap_ref": "gap to lattice-dp J", "boundary_events": "boundary events",
                "direction_projections": "direction projections", "decision_s": "decision time",
                "train_s": "training time"},
        sweep_labels={"uav.speed": "UAV speed V (m/s)", "uav.n_uavs": "number of UAVs N_U"},
    ),
)

METHODS = (
    MethodSpec(
        family="sagin", id="lattice-dp", kind="exact", knowledge="oracle", seeded=False,
        entry=f"{_MODULE}:solve_lattice_dp",
        description="exact P2-L optimum per UAV on the lattice L(ref.h) by dynamic programming over (node, BS, tick, "
                    "switches) (§8.1), full knowledge; option gain_mode segment|node",
        options=(_GAIN_MODE, Option("h_max", "int", None, "cap on the number of link switches (default: the "
                                    "instance's)", low=0, nullable=True)),
    ),
    MethodSpec(
        family="sagin", id="p2l-milp", kind="exact", knowledge="oracle", seeded=False,
        entry=f"{_MODULE}:solve_p2l_milp",
        description="P2-L as a Pyomo MILP per arrival tick, solved by HiGHS (§5.5, §8.2); ref-tiny-size "
                    "cross-check of lattice-dp",
        options=(time_limit(600.0), _GAIN_MODE, *mip_options(threads=False, log=False, export_model=False)),
    ),
)
