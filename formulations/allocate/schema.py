"""Declared fields of the `allocate` instance (§3.1): type, shape, plausible range and unit of every field, enforced
by `optkit.fields.validate_fields` at the start of `AllocateInstance.validate` (relations between fields follow
there). Ranges are physical plausibility bounds, wide around the presets, not model limits.

Shape names: N nodes, N_u UAVs, L links, C channels, A areas, TK slots, S services, U UEs, R requests, HT = H + T.
"""
from __future__ import annotations

from optkit.fields import Field, estimate_check, length

COUNT_MAX = 10_000          # any count of nodes, UEs, services, functions, requests or channels
FRAMES_MAX = 10_000         # frames (T, H) and slots per frame (K)

FIELDS: tuple[Field, ...] = (
    Field("seed", "int", 0, 2**63 - 1),
    Field("preset", "str"),
    Field("grid_rows", "int", 1, 1000),
    Field("grid_cols", "int", 1, 1000),
    Field("cell_side_m", "float", 0.0, 1e6, low_open=True, unit="m"),
    Field("T", "int", 1, FRAMES_MAX),
    Field("K", "int", 1, FRAMES_MAX),
    Field("frame_s", "float", 0.0, 86_400.0, low_open=True, unit="s"),
    Field("H", "int", 0, FRAMES_MAX),
    Field("n_core", "int", 1, COUNT_MAX),
    Field("n_rsu", "int", 0, COUNT_MAX),
    Field("n_uav", "int", 0, COUNT_MAX),
    Field("node_area", "array", 0, None, shape=("N",), dtype="int64"),
    Field("cap", "array", 0.0, 1e6, low_open=True, unit="Mbit/s", shape=("N",), dtype="float64"),
    Field("e_node", "array", 0.0, 1e9, unit="eu", shape=("N",), dtype="float64"),
    Field("uav_weight", "array", 0.0, 1e4, low_open=True, unit="kg", shape=("n_uav",), dtype="float64"),
    Field("uav_speed", "array", 0.0, 340.0, low_open=True, unit="m/s", shape=("n_uav",), dtype="float64"),
    Field("link_ends", "array", 0, None, shape=(None, 2), dtype="int64"),
    Field("link_wireless", "array", shape=("L",), dtype="bool"),
    Field("link_cap", "array", 0.0, 1e6, low_open=True, unit="Mbit/s", shape=("L",), dtype="float64"),
    Field("link_energy", "array", 0.0, 1e9, unit="eu", shape=("L",), dtype="float64"),
    Field("link_lat", "array", 0.0, 1e6, unit="ms", shape=("L",), dtype="float64"),
    Field("wireless_range_cells", "int", 0, 1000),
    Field("C", "int", 1, COUNT_MAX),
    Field("e_chan", "array", 0.0, 1e9, unit="eu", shape=("C",), dtype="float64"),
    Field("theta_los", "array", 0.0, 1.0, shape=("A",), dtype="float64"),
    Field("sigma_ray", "array", 0.0, 1e3, low_open=True, shape=("C", "A"), dtype="float64"),
    Field("weather", "array", 0, 2, shape=("T",), dtype="int64"),
    Field("Q", "array", 0, 1, shape=("C", "A", "TK"), dtype="uint8"),
    Field("n_services", "int", 1, COUNT_MAX),
    Field("n_functions", "int", 1, COUNT_MAX),
    Field("service_funcs", "nested", 0, COUNT_MAX, element="int"),
    Field("service_dur", "array", 1, FRAMES_MAX, shape=("n_services",), dtype="int64"),
    Field("n_ues", "int", 1, COUNT_MAX),
    Field("ue_area", "array", 0, None, shape=("n_ues", "HT"), dtype="int64"),
    Field("ue_xy", "array", -1e9, 1e9, unit="m", shape=("n_ues", "HT", 2), dtype="float64"),
    Field("req_ue", "array", 0, None, shape=(None,), dtype="int64"),
    Field("req_service", "array", 0, None, shape=("R",), dtype="int64"),
    Field("req_entry", "array", 0, FRAMES_MAX, shape=("R",), dtype="int64"),
    Field("req_slots", "array", 1, FRAMES_MAX, shape=("R",), dtype="int64"),
    Field("req_bw", "array", 0.0, 1e6, unit="Mbit/s", shape=("R",), dtype="float64"),
    Field("req_demand", "nested", 0.0, 1e6, low_open=True, unit="Mbit/s", element="float"),
    Field("req_latency", "array", 0.0, 1e7, low_open=True, unit="ms", shape=("R",), dtype="float64"),
    Field("alpha", "float", 0.0, 1e6, unit="1/eu"),
    Field("uav_energy_scale", "float", 0.0, 1e6, unit="eu/J"),
    Field("uav_weight_as_force", "bool"),
    Field("induced_coeff", "float", 0.0, 100.0),
    Field("drag_coeff", "float", 0.0, 100.0),
    Field("air_density", "float", 0.01, 10.0, unit="kg/m^3"),
    Field("rotor_disk_area", "float", 0.0, 1e3, low_open=True, unit="m^2"),
    Field("frontal_area", "float", 0.0, 1e3, low_open=True, unit="m^2"),
    Field("gravity", "float", 0.1, 100.0, unit="m/s^2"),
    Field("uav_altitude_m", "float", 0.0, 1e5, low_open=True, unit="m"),
    Field("carrier_hz", "float", 1e6, 1e12, unit="Hz"),
    Field("ref_distance_m", "float", 0.0, 1e4, low_open=True, unit="m"),
    Field("pathloss_exp", "float", 0.0, 10.0, low_open=True),
    Field("tx_power_dbm", "float", -100.0, 100.0, unit="dBm"),
    Field("noise_psd_dbm_hz", "float", -250.0, 0.0, unit="dBm/Hz"),
    Field("subcarrier_hz", "float", 1.0, 1e10, unit="Hz"),
    Field("snr_threshold", "float", 0.0, 1e12, low_open=True),
    Field("weather_atten_db", "array", 0.0, 300.0, unit="dB", shape=(3,), dtype="float64"),
    Field("weather_shadow_db", "array", 0.0, 300.0, unit="dB", shape=(3,), dtype="float64"),
    Field("issuance", "str", choices=("iid", "propensity")),
    Field("hist_events", "array", None, None, shape=(None, 2), dtype="int64"),
)

#: Memory per model variable of the exact MILP (Pyomo component, HiGHS column, solution), bytes: a rough upper figure
#: used only to refuse instances whose model could never be built here.
BYTES_PER_VARIABLE = 2000


def sizes(inst) -> dict:
    """Shape names of FIELDS for one instance (called after the scalar fields are checked)."""
    return {"N": inst.n_core + inst.n_rsu + inst.n_uav, "L": length(inst.link_ends), "A": inst.grid_rows * inst.grid_cols,
            "TK": inst.T * inst.K, "HT": inst.H + inst.T, "R": length(inst.req_ue)}


def check_size(inst) -> None:
    """Refuse an instance whose exact model (placement N x functions x T per request, channel slots C x T x K per
    request, UAV moves N_u x A x A x T) would exhaust memory, with the estimate."""
    s = sizes(inst)
    functions = sum(length(f) for f in inst.service_funcs) / max(inst.n_services, 1)
    variables = (s["R"] * functions * s["N"] * inst.T + s["R"] * inst.C * s["TK"]
                 + inst.n_uav * s["A"] ** 2 * inst.T + s["R"] * s["L"] * inst.T)
    estimate_check("R", "the exact model of this instance (about %.3g variables)" % variables,
                   variables * BYTES_PER_VARIABLE)
