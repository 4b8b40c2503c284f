"""Declared fields of the `ntn-relay` instance (§3.1): type, shape, plausible range and unit of every field, enforced
by `optkit.fields.validate_fields` first in `validate_params` (the instance's and the generator's check); the
relations between fields (§3.5, D51) follow there. Ranges are physical plausibility bounds, wide around the presets:
a 1e30 Hz bandwidth, a relay at 1e30 km or a 2^40-slot episode is refused with the rule in the message.

Section (§) and decision (D) numbers refer to docs/families/ntn-relay.md.
"""
from __future__ import annotations

from optkit.fields import Field, estimate_check, validate_fields

#: Fields that may be null (the spec's "auto" overrides resolved at run time).
NULLABLE = ("orbital_speed_override_kms", "n_slots_override", "mu_R_bps")

KM = 1e5                      # plausible |coordinate| bound, km (well beyond any lane or relay layout)

#: The instance's own fields besides the parameters.
IDENTITY: tuple[Field, ...] = (Field("seed", "int", 0, 2**63 - 1), Field("preset", "str"))

PARAMS: tuple[Field, ...] = (
    Field("randomize", "bool"),
    Field("path_template", "str", choices=("S-L1-R-L2-D", "S-L1-L2-D", "S-D", "S-L1-R-D", "S-L1-D")),
    Field("relay_kind", "str", choices=("uav", "ground", "none")),
    Field("K", "int", 1, 64),
    Field("src_pos_km", "list", -KM, KM, unit="km", shape=(3,)),
    Field("dst_pos_km", "list", -KM, KM, unit="km", shape=(3,)),
    Field("area_xy_km", "nested", -KM, KM, unit="km"),
    Field("earth_radius_km", "float", 1.0, 1e6, unit="km"),
    Field("grav_const", "float", 1e-12, 1e-9, unit="m^3/(kg s^2)"),
    Field("earth_mass_kg", "float", 1e20, 1e28, unit="kg"),
    Field("sat_altitude_km", "float", 100.0, 50_000.0, unit="km"),
    Field("orbital_speed_override_kms", "float", 0.0, 20.0, low_open=True, unit="km/s"),
    Field("sats_per_lane", "int", 1, 10_000),
    Field("lane_x_km", "list", -KM, KM, unit="km", shape=(2,)),
    Field("lane_direction", "list", -1, 1, shape=(2,), element="int"),
    Field("lane_phase_km", "list", -KM, KM, unit="km", shape=(2,)),
    Field("segment_y_km", "list", -KM, KM, unit="km", shape=(2,)),
    Field("n_candidates", "int", 1, 10_000),
    Field("action_reduction", "bool"),
    Field("dt_s", "float", 1e-3, 3600.0, unit="s"),
    Field("n_slots_override", "int", 1, 1_000_000),
    Field("uav_altitude_km", "float", 0.0, 100.0, unit="km"),
    Field("relay_init_xy_km", "nested", -KM, KM, unit="km"),
    Field("uav_init_vel_mps", "nested", -1000.0, 1000.0, unit="m/s"),
    Field("a_max_mps2", "float", 0.0, 100.0, unit="m/s^2"),
    Field("accel_levels", "int", 1, 101),
    Field("v_min_mps", "float", 0.0, 1000.0, low_open=True, unit="m/s"),
    Field("v_max_mps", "float", 0.0, 1000.0, low_open=True, unit="m/s"),
    Field("uav_mass_kg", "float", 0.0, 1e5, low_open=True, unit="kg"),
    Field("c1", "float", 0.0, 1e3, low_open=True, unit="kg/m"),
    Field("c2", "float", 0.0, 1e9, low_open=True, unit="kg m^3/s^4"),
    Field("gravity", "float", 0.0, 100.0, low_open=True, unit="m/s^2"),
    Field("tau_max_s", "float", 0.0, 1.0, low_open=True, unit="s"),
    Field("bandwidth_hz", "float", 0.0, 1e12, low_open=True, unit="Hz"),
    Field("rf_ref_snr_db", "float", -100.0, 300.0, unit="dB"),
    Field("fso_wavelength_nm", "float", 100.0, 20_000.0, unit="nm"),
    Field("visibility_km", "float", 0.0, 1e4, low_open=True, unit="km"),
    Field("fso_asnr_db", "float", -100.0, 300.0, unit="dB"),
    Field("fso_apr", "float", 0.0, 1.0, low_open=True),
    Field("fso_rate_prefactor", "float", 0.0, 1e3, low_open=True),
    Field("link_mode", "str", choices=("hybrid", "rf", "fso")),
    Field("reward_mode", "str", choices=("ee", "rate", "energy", "fair")),
    Field("w_R", "float", 0.0, 1e6),
    Field("w_E", "float", 0.0, 1e6),
    Field("w_D", "float", 0.0, 1e6),
    Field("mu_R_bps", "float", 0.0, 1e15, low_open=True, unit="bit/s"),
    Field("train_seed_offset", "int", 0, 2**62),
)

#: Bytes per (slot, relay, candidate pair) of the precomputed ground-hop and SAT tables (a rough lower figure).
BYTES_PER_SLOT_ENTRY = 64


def check(p: dict) -> None:
    """Types and plausible ranges of the parameters `p` (null allowed for NULLABLE), then the size of the
    per-slot tables (n_slots_override, else one orbital period at dt_s, times K times the candidates)."""
    validate_fields(p, [f for f in PARAMS if not (f.name in NULLABLE and p[f.name] is None)])
    if p["n_slots_override"] is not None:
        slots = p["n_slots_override"]
        estimate_check("n_slots_override", f"the per-slot tables ({slots} slots x K = {p['K']} x "
                                           f"{p['n_candidates']}^2 candidate pairs)",
                       float(slots) * p["K"] * p["n_candidates"] ** 2 * BYTES_PER_SLOT_ENTRY)
    else:
        # One orbital period is at most ~2e5 s for altitudes within the declared range.
        estimate_check("dt_s", f"the per-slot tables (2e5 s / dt_s = {2e5 / p['dt_s']:.3g} slots x K = {p['K']} x "
                               f"{p['n_candidates']}^2 candidate pairs)",
                       2e5 / p["dt_s"] * p["K"] * p["n_candidates"] ** 2 * BYTES_PER_SLOT_ENTRY)
