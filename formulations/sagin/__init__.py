"""Family `sagin` (spec shared/spec/sagin.md): UAV link selection and trajectory control across ground (GN),
aerial (AN) and satellite (SN) base stations.

Foundation; registered once the evaluator and methods exist. Modules: `instance` (schema, validation, JSON),
`generator` (seeded generation from presets), `buildings` (E2-E3), `antennas` (E4-E7, E14), `pathloss`
(E8-E16), `radio` (E17-E23, backends of §4.6), `mobility` (E24-E31).
"""
