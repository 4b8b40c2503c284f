"""Family `sagin` (spec shared/spec/sagin.md): UAV link selection and trajectory control across ground (GN),
aerial (AN) and satellite (SN) base stations.

Foundation; registered once the learners and the Gymnasium environment exist (the registry lists only methods that
are built). Modules: `instance` (schema, validation, JSON), `generator` (seeded generation from presets),
`buildings` (E2-E3), `antennas` (E4-E7, E14), `pathloss` (E8-E16), `radio` (E17-E23, backends of §4.6),
`mobility` (E24-E31), `formulation` (P0-P2 and the P2-L lattice, §5), `evaluator` (§6), `lattice_dp` (§8.1),
`p2l_milp` (§5.5, §8.2), `env` (the batched environment, exact or cached backend) and `gym_env` (single-UAV and
multi-UAV Gymnasium forms). The baselines `sl` and `graph` are in `optkit.heuristics.sagin`.
"""
