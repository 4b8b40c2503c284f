"""Declared fields of the `leo-handover` instance (§3): type, shape, plausible range and unit of every field,
enforced by `optkit.fields.validate_fields` first in `LeoHandoverInstance.validate` and in `validate_params` (the
generator's check of presets and overrides); relations between fields follow there. Ranges are physical
plausibility bounds, wide around the presets: a terminal at 1e30 m/s or a 1e30 km orbit is refused.
"""
from __future__ import annotations

from optkit.fields import Field, estimate_check

COUNT_MAX = 1_000_000

PARAMS: tuple[Field, ...] = (
    Field("n_sat", "int", 1, 100_000),
    Field("alt_min_km", "float", 160.0, 50_000.0, unit="km"),
    Field("alt_max_km", "float", 160.0, 50_000.0, unit="km"),
    Field("incl_dist", "str", choices=("isotropic", "uniform_deg")),
    Field("incl_min_deg", "float", 0.0, 180.0, unit="deg"),
    Field("incl_max_deg", "float", 0.0, 180.0, unit="deg"),
    Field("raan_range_deg", "list", -720.0, 720.0, unit="deg", shape=(2,)),
    Field("argl_range_deg", "list", -720.0, 720.0, unit="deg", shape=(2,)),
    Field("footprint_min_km", "float", 0.0, 20_000.0, low_open=True, unit="km"),
    Field("footprint_max_km", "float", 0.0, 20_000.0, low_open=True, unit="km"),
    Field("footprint_metric", "str", choices=("ground", "slant", "none")),
    Field("vis_min_elev_deg", "float", -90.0, 90.0, unit="deg"),
    Field("cand_min_elev_deg", "float", -90.0, 90.0, unit="deg"),
    Field("dt_s", "float", 1e-3, 3600.0, unit="s"),
    Field("horizon_s", "float", 0.0, 30 * 86_400.0, low_open=True, unit="s"),
    Field("gmst0_deg", "float", -3600.0, 3600.0, unit="deg"),
    Field("terminal_lat_deg", "float", -90.0, 90.0, unit="deg"),
    Field("terminal_lon_deg", "float", -3600.0, 3600.0, unit="deg"),
    Field("terminal_alt_km", "float", -0.5, 100.0, unit="km"),
    Field("terminal_speed_mps", "float", 0.0, 1000.0, unit="m/s"),
    Field("geometry_model", "str", choices=("enu", "flat")),
    Field("n_candidates", "int", 1, 1000),
    Field("slot_order", "str", choices=("stable", "age")),
    Field("serving_flag", "bool"),
    Field("pad_features", "list", 0.0, 1.0, shape=(4,)),
    Field("range_clip_quantile", "float", 0.0, 1.0, low_open=True),
    Field("radial_bound_kmps", "float", 0.0, 100.0, low_open=True, unit="km/s"),
    Field("reward_weights", "list", 0.0, 1e6, shape=(4,)),
    Field("elev_penalty_threshold_deg", "float", -90.0, 90.0, unit="deg"),
    Field("elev_penalty", "float", 0.0, 1e6),
    Field("low_reward_threshold", "float", -1e6, 1e6),
    Field("low_reward_penalty", "float", 0.0, 1e6),
    Field("handover_penalty", "float", 0.0, 1e6),
    Field("ep_len_min", "int", 1, 10_000_000),
    Field("ep_len_max", "int", 1, 10_000_000),
    Field("heading_set_deg", "list", 0, 359, unit="deg", element="int"),
    Field("n_train_worlds", "int", 1, 10_000),
    Field("n_train_episodes", "int", 1, 10_000_000),
    Field("train_every", "int", 1, 1_000_000),
    Field("n_test_episodes", "int", 1, 100_000),
    Field("run_seeds", "list", 0, 2**63 - 1, element="int"),
)

FIELDS: tuple[Field, ...] = (
    Field("seed", "int", 0, 2**63 - 1),
    Field("preset", "str"),
    *PARAMS,
    Field("alt_km", "array", 160.0, 50_000.0, unit="km", shape=("n_sat",), dtype="float64"),
    Field("incl_deg", "array", 0.0, 180.0, unit="deg", shape=("n_sat",), dtype="float64"),
    Field("raan_deg", "array", -720.0, 720.0, unit="deg", shape=("n_sat",), dtype="float64"),
    Field("argl0_deg", "array", -720.0, 720.0, unit="deg", shape=("n_sat",), dtype="float64"),
    Field("footprint_km", "array", 0.0, 20_000.0, low_open=True, unit="km", shape=("n_sat",), dtype="float64"),
    Field("d_min_km", "float", 0.0, 1e5, low_open=True, unit="km"),
    Field("d_max_km", "float", 0.0, 1e5, low_open=True, unit="km"),
    Field("episodes", "array", 0, None, shape=("n_test_episodes", 3), dtype="int64"),
)

#: Bytes per (step, satellite) pair of the per-step visibility of one world (a rough lower figure).
BYTES_PER_STEP_SAT = 8


def check_size(p) -> None:
    """Refuse parameters whose per-step geometry (steps K = horizon/dt times n_sat satellites) would exhaust memory,
    with the estimate (p: the parameter dict or the instance)."""
    get = p.__getitem__ if isinstance(p, dict) else (lambda n: getattr(p, n))
    steps = get("horizon_s") / get("dt_s")
    estimate_check("horizon_s", f"the geometry of one world ({steps:.3g} steps x {get('n_sat')} satellites)",
                   steps * get("n_sat") * BYTES_PER_STEP_SAT)
