"""Orbits, WGS-84 geodesy and topocentric geometry of `leo-handover` (§4.1–§4.3, E1–E13, E17).

Pure numpy. Every function works elementwise and broadcasts over leading dimensions; vectors carry their three
Cartesian components in the last axis. Units: km, km/s, s, degrees at the interface (radians inside).
Everything is elementwise (dot products written out component by component, no einsum/matmul), so a pair
evaluated inside two different 1-D arrays gets the same values; `world.py` relies on that to make the window pass
and `pair_geometry` agree exactly.
"""
from __future__ import annotations

import numpy as np

MU_KM3_S2 = 3.986004418e5              # μ, km³/s²
R_EQ_KM = 6378.137                     # WGS-84 semi-major axis R_eq, km
FLATTENING = 1.0 / 298.257223563       # WGS-84 f
E2 = FLATTENING * (2.0 - FLATTENING)   # first eccentricity squared e² = f(2 − f)
OMEGA_E_RAD_S = 7.292115e-5            # ω_E, rad/s
R_MEAN_KM = 6371.0                     # R_m, mean Earth radius for great-circle distances, km

_POLAR_LAT_RAD = np.radians(89.9)      # E5: above this |φ| the height uses z / sin φ
_E5_TOL_RAD = 1e-12
_E5_MAX_ITER = 10


def _dot(a, b):
    """Component-wise dot product over the last axis: (...,3)·(...,3) -> (...)."""
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def _norm(a):
    return np.sqrt(_dot(a, a))


# ---------------------------------------------------------------------------------------------------------------
# Geodesy (§4.2)
# ---------------------------------------------------------------------------------------------------------------

def geodetic_to_ecef(lat_deg, lon_deg, alt_km, *, a_km: float = R_EQ_KM, e2: float = E2) -> np.ndarray:
    """Geodetic (deg, deg, km) -> ECEF (...,3) km (E4). `a_km`, `e2` allow a sphere (e2 = 0) for checks."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    h = np.asarray(alt_km, dtype=float)
    sin_lat = np.sin(lat)
    cos_lat = np.cos(lat)
    big_n = a_km / np.sqrt(1.0 - e2 * sin_lat * sin_lat)                                  # E4
    x = (big_n + h) * cos_lat * np.cos(lon)                                               # E4
    y = (big_n + h) * cos_lat * np.sin(lon)                                               # E4
    z = (big_n * (1.0 - e2) + h) * sin_lat                                                # E4
    x, y, z = np.broadcast_arrays(x, y, z)
    return np.stack([x, y, z], axis=-1)


def ecef_to_geodetic(xyz, *, a_km: float = R_EQ_KM, e2: float = E2):
    """ECEF (...,3) km -> (lat_deg, lon_deg, alt_km), each (...) (E5).

    Iterates per element (an element stops once its |Δφ| < 1e-12 rad, at most 10 iterations), so the result of
    one point does not depend on the other points of the array."""
    xyz = np.asarray(xyz, dtype=float)
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    lon = np.arctan2(y, x)                                                                # E5
    p = np.sqrt(x * x + y * y)
    lat = np.arctan2(z, p * (1.0 - e2))                                                   # E5 start
    active = np.ones(lat.shape, dtype=bool)

    def height(phi):
        sin_phi = np.sin(phi)
        big_n = a_km / np.sqrt(1.0 - e2 * sin_phi * sin_phi)
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(np.abs(phi) > _POLAR_LAT_RAD, z / sin_phi - big_n * (1.0 - e2),   # E5 polar form
                         p / np.cos(phi) - big_n)                                         # E5
        return big_n, h

    for _ in range(_E5_MAX_ITER):
        big_n, h = height(lat)
        new_lat = np.arctan2(z, p * (1.0 - e2 * big_n / (big_n + h)))                     # E5
        step = np.abs(new_lat - lat)
        lat = np.where(active, new_lat, lat)
        active = active & (step >= _E5_TOL_RAD)
        if not active.any():
            break
    _, h = height(lat)
    return np.degrees(lat), np.degrees(lon), h


def enu_basis(lat_deg, lon_deg):
    """Local East, North, Up unit vectors at geodetic (lat, lon) deg: (e_hat, n_hat, u_hat), each (...,3) (E6)."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    sin_lat, cos_lat = np.sin(lat), np.cos(lat)
    sin_lon, cos_lon = np.sin(lon), np.cos(lon)
    zero = np.zeros(np.broadcast(lat, lon).shape)
    e_hat = np.stack(np.broadcast_arrays(-sin_lon, cos_lon, zero), axis=-1)                           # E6
    n_hat = np.stack(np.broadcast_arrays(-sin_lat * cos_lon, -sin_lat * sin_lon, cos_lat), axis=-1)   # E6
    u_hat = np.stack(np.broadcast_arrays(cos_lat * cos_lon, cos_lat * sin_lon, sin_lat), axis=-1)     # E6
    return e_hat, n_hat, u_hat


# ---------------------------------------------------------------------------------------------------------------
# Orbits and Earth rotation (§4.1)
# ---------------------------------------------------------------------------------------------------------------

def mean_motion(alt_km):
    """Mean motion n = sqrt(μ / a³) in rad/s of a circular orbit at altitude alt_km above R_eq (E1)."""
    a = R_EQ_KM + np.asarray(alt_km, dtype=float)
    return np.sqrt(MU_KM3_S2 / (a * a * a))                                               # E1


def sat_ecef(alt_km, incl_deg, raan_deg, argl0_deg, t_s, gmst0_deg=0.0, *, with_velocity: bool = True):
    """ECEF position r (S+(3,), km) and velocity v (S+(3,), km/s) of circular orbits at time t_s (E1–E3).

    All inputs broadcast to a common shape S. With with_velocity=False, v is None (same r, bit for bit)."""
    alt, incl, raan, argl0, t, gmst0 = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (alt_km, incl_deg, raan_deg, argl0_deg, t_s, gmst0_deg)))
    a = R_EQ_KM + alt                                                                     # E1
    n = np.sqrt(MU_KM3_S2 / (a * a * a))                                                  # E1
    u = np.radians(argl0) + n * t                                                         # E1
    theta = np.radians(gmst0) + OMEGA_E_RAD_S * t                                         # E3
    # E2 + E3: R3(θ)·r^I is E2 with Ω replaced by Ω − θ (rotation about ẑ composes with the node rotation).
    node = np.radians(raan) - theta
    cos_node, sin_node = np.cos(node), np.sin(node)
    cos_u, sin_u = np.cos(u), np.sin(u)
    rad_i = np.radians(incl)
    cos_i, sin_i = np.cos(rad_i), np.sin(rad_i)
    x = a * (cos_node * cos_u - sin_node * cos_i * sin_u)                                 # E2, E3
    y = a * (sin_node * cos_u + cos_node * cos_i * sin_u)                                 # E2, E3
    z = a * (sin_i * sin_u)                                                               # E2
    r = np.stack([x, y, z], axis=-1)
    if not with_velocity:
        return r, None
    speed = a * n
    vx = speed * (-cos_node * sin_u - sin_node * cos_i * cos_u) + OMEGA_E_RAD_S * y       # E2, E3: − ω_E ẑ × r
    vy = speed * (-sin_node * sin_u + cos_node * cos_i * cos_u) - OMEGA_E_RAD_S * x       # E2, E3
    vz = speed * (sin_i * cos_u)                                                          # E2
    return r, np.stack([vx, vy, vz], axis=-1)


# ---------------------------------------------------------------------------------------------------------------
# Topocentric geometry (§4.3)
# ---------------------------------------------------------------------------------------------------------------

def _central_angle(r, terminal_ecef):
    """Geocentric central angle σ (rad) between r and the terminal (E8)."""
    cos_sigma = _dot(r, terminal_ecef) / (_norm(r) * _norm(terminal_ecef))
    return np.arccos(np.clip(cos_sigma, -1.0, 1.0))                                      # E8


def _topo(r, terminal_ecef, lat_deg, lon_deg, model: str) -> dict:
    """Shared core of elevation, ground distance and range (and the intermediates az/heading need)."""
    r = np.asarray(r, dtype=float)
    terminal_ecef = np.asarray(terminal_ecef, dtype=float)
    basis = enu_basis(lat_deg, lon_deg)
    ground = R_MEAN_KM * _central_angle(r, terminal_ecef)                                 # E8
    out = {"basis": basis, "ground_km": ground}
    if model == "enu":
        rho = r - terminal_ecef                                                           # E7
        e = _dot(rho, basis[0])                                                           # E7
        n = _dot(rho, basis[1])                                                           # E7
        u = _dot(rho, basis[2])                                                           # E7
        out.update(rho=rho, e=e, n=n, range_km=_norm(rho),                                # E7
                   el_deg=np.degrees(np.arctan2(u, np.sqrt(e * e + n * n))))              # E7
    elif model == "flat":
        lat_s, lon_s, alt_s = ecef_to_geodetic(r)                                         # E5
        zero_alt = geodetic_to_ecef(lat_deg, lon_deg, 0.0)
        alt_r = _dot(terminal_ecef - zero_alt, basis[2])      # h_r: E4 gives r_r − r(φ, λ, 0) = h_r·û
        h_rel = alt_s - alt_r                                                             # E13
        out.update(rho=r - terminal_ecef, sat_lat_deg=lat_s, sat_lon_deg=lon_s,
                   range_km=np.sqrt(h_rel * h_rel + ground * ground),                     # E13
                   el_deg=np.degrees(np.arctan2(h_rel, ground)))                          # E13
    else:
        raise ValueError(f"geometry model must be 'enu' or 'flat', got {model!r}")
    return out


def elevation_ground_range(r, terminal_ecef, lat_deg, lon_deg, *, model: str = "enu"):
    """(el_deg, ground_km, range_km), each r.shape[:-1]: the quantities of the visibility rule (E7/E13, E8).

    Uses the same code as `look_angles`, so both give identical values for the same inputs."""
    core = _topo(r, terminal_ecef, lat_deg, lon_deg, model)
    return core["el_deg"], core["ground_km"], core["range_km"]


def look_angles(r, v, terminal_ecef, lat_deg, lon_deg, *, model: str = "enu", terminal_vel=None) -> dict:
    """Look angles of satellites at r (...,3) km with ECEF velocity v (...,3) km/s from a terminal.

    terminal_ecef (...,3) km and lat/lon (deg, the terminal's geodetic position) broadcast against r;
    terminal_vel (...,3) km/s ECEF (None = static). Returns arrays of shape r.shape[:-1]: az_deg, el_deg,
    range_km, ground_km (E8), heading_deg (χ, E9), range_rate_kmps (E11). model "flat" replaces El, d, Az by
    E13; heading and range rate stay topocentric (ENU)."""
    core = _topo(r, terminal_ecef, lat_deg, lon_deg, model)
    e_hat, n_hat, _ = core["basis"]
    v = np.asarray(v, dtype=float)
    if model == "enu":
        az = np.mod(np.degrees(np.arctan2(core["e"], core["n"])), 360.0)                  # E7
    else:
        lat_r = np.radians(np.asarray(lat_deg, dtype=float))
        lat_s = np.radians(core["sat_lat_deg"])
        dlon = np.radians(core["sat_lon_deg"] - np.asarray(lon_deg, dtype=float))
        az = np.mod(np.degrees(np.arctan2(np.sin(dlon) * np.cos(lat_s),                   # E13
                                          np.cos(lat_r) * np.sin(lat_s)
                                          - np.sin(lat_r) * np.cos(lat_s) * np.cos(dlon))), 360.0)
    heading = np.mod(np.degrees(np.arctan2(_dot(v, e_hat), _dot(v, n_hat))), 360.0)       # E9
    rel_v = v if terminal_vel is None else v - np.asarray(terminal_vel, dtype=float)
    rho = core["rho"]
    range_rate = _dot(rho, rel_v) / _norm(rho)                                            # E11
    shape = np.broadcast_shapes(core["el_deg"].shape, heading.shape)
    return {"az_deg": np.broadcast_to(az, shape), "el_deg": np.broadcast_to(core["el_deg"], shape),
            "range_km": np.broadcast_to(core["range_km"], shape),
            "ground_km": np.broadcast_to(core["ground_km"], shape),
            "heading_deg": heading, "range_rate_kmps": np.broadcast_to(range_rate, shape)}


def direction_difference(chi_deg, psi_deg):
    """Δψ = |((χ − ψ + 180) mod 360) − 180| in [0, 180] deg (E10)."""
    return np.abs(np.mod(np.asarray(chi_deg, dtype=float) - np.asarray(psi_deg, dtype=float) + 180.0, 360.0)
                  - 180.0)                                                                # E10


def fspl_db(d_km, f_ghz=2.0):
    """Free-space path loss in dB at slant range d_km and carrier f_ghz (E17)."""
    return 20.0 * np.log10(np.asarray(d_km, dtype=float)) + 20.0 * np.log10(f_ghz) + 92.45   # E17


# ---------------------------------------------------------------------------------------------------------------
# Spherical-Earth reference relations (E12), used by the checks only
# ---------------------------------------------------------------------------------------------------------------

def slant_range_spherical(el_deg, h_km, radius_km=R_MEAN_KM):
    """Slant range (km) at elevation el_deg to altitude h_km, terminal at sea level on a sphere (E12)."""
    s = np.sin(np.radians(np.asarray(el_deg, dtype=float)))
    h = np.asarray(h_km, dtype=float)
    return np.sqrt(radius_km ** 2 * s * s + h * h + 2.0 * h * radius_km) - radius_km * s   # E12


def horizon_range_km(h_km, radius_km=R_MEAN_KM):
    """The paper's visible radius R_vis = sqrt((h + R)² − R²) km (slant range to the horizon, E12)."""
    h = np.asarray(h_km, dtype=float)
    return np.sqrt((h + radius_km) ** 2 - radius_km ** 2)                                 # E12


def elevation_from_ground_km(g_km, h_km, radius_km=R_MEAN_KM):
    """Elevation (deg) of a satellite at altitude h_km seen at ground distance g_km on a sphere (E12)."""
    sigma = np.asarray(g_km, dtype=float) / radius_km
    h = np.asarray(h_km, dtype=float)
    return np.degrees(np.arctan2(np.cos(sigma) - radius_km / (radius_km + h), np.sin(sigma)))   # E12


# ---------------------------------------------------------------------------------------------------------------
# Moving terminal (E4b)
# ---------------------------------------------------------------------------------------------------------------

_MAX_TRACK_LAT_RAD = np.radians(89.0)


def terminal_track(lat_deg, lon_deg, alt_km, psi_deg, speed_mps, t_rel_s):
    """Rhumb-line position (lat_deg, lon_deg) of a terminal anchored at (lat, lon) at t_rel_s = 0 (E4b).

    Heading psi_deg (compass), ground speed speed_mps on a sphere of radius R_m; alt_km stays constant and does
    not enter. Broadcasts over psi_deg and t_rel_s (s, negative before the anchor); lon is wrapped to [−180, 180)."""
    del alt_km  # constant altitude: the track does not depend on it (kept for a uniform signature)
    lat0 = np.radians(np.asarray(lat_deg, dtype=float))
    lon0 = np.radians(np.asarray(lon_deg, dtype=float))
    psi = np.radians(np.asarray(psi_deg, dtype=float))
    s = np.asarray(speed_mps, dtype=float) * np.asarray(t_rel_s, dtype=float) / 1000.0    # E4b, km
    cos_psi = np.cos(psi)
    lat = np.clip(lat0 + s * cos_psi / R_MEAN_KM, -_MAX_TRACK_LAT_RAD, _MAX_TRACK_LAT_RAD)   # E4b
    steep = np.abs(cos_psi) > 1e-9
    safe_cos = np.where(steep, cos_psi, 1.0)
    mercator = np.log(np.tan(np.pi / 4.0 + lat / 2.0)) - np.log(np.tan(np.pi / 4.0 + lat0 / 2.0))
    lon = np.where(steep, lon0 + np.sin(psi) / safe_cos * mercator,                       # E4b
                   lon0 + s * np.sin(psi) / (R_MEAN_KM * np.cos(lat0)))                   # E4b, due east/west
    lon_deg_out = np.mod(np.degrees(lon) + 180.0, 360.0) - 180.0
    return np.degrees(lat), lon_deg_out


def terminal_velocity_ecef(lat_deg, lon_deg, psi_deg, speed_mps):
    """Terminal ECEF velocity (...,3) km/s: (v_r/1000)·(sin ψ ê + cos ψ n̂) at the current position (E4b)."""
    e_hat, n_hat, _ = enu_basis(lat_deg, lon_deg)
    psi = np.radians(np.asarray(psi_deg, dtype=float))
    k = np.asarray(speed_mps, dtype=float) / 1000.0
    return (k * np.sin(psi))[..., None] * e_hat + (k * np.cos(psi))[..., None] * n_hat   # E4b
