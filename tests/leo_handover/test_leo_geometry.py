"""Geometry of `leo-handover`: docs/families/leo-handover.md §10 checks 1–11 (E1–E13, E17) and the moving terminal
(E4b)."""
from __future__ import annotations

import numpy as np
import pytest

from optkit.formulations.leo_handover import geometry as geo

R_SPHERE = 6371.0


def _sphere_point(lat_deg, lon_deg, radius):
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return radius * np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _sat_on_sphere(el_deg, az_deg, h_km, lat_deg=37.5665, lon_deg=126.978, radius=R_SPHERE):
    """Satellite at altitude h on a sphere, at elevation el and azimuth az from a sea-level terminal, built from
    the central angle σ = arccos(R cos El / (R + h)) − El (no slant-range formula involved)."""
    el = np.radians(el_deg)
    sigma = np.arccos(radius * np.cos(el) / (radius + h_km)) - el
    e_hat, n_hat, u_hat = geo.enu_basis(lat_deg, lon_deg)
    horizontal = np.sin(np.radians(az_deg)) * e_hat + np.cos(np.radians(az_deg)) * n_hat
    return (radius + h_km) * (np.cos(sigma) * u_hat + np.sin(sigma) * horizontal), sigma


# --- check 1: WGS-84 round trip ----------------------------------------------------------------------------------

def test_check1_wgs84_round_trip():
    r = geo.geodetic_to_ecef(37.5665, 126.9780, 1.0)
    np.testing.assert_allclose(r, [-3045.257, 4044.422, 3868.027], atol=0.01)
    lat, lon, alt = geo.ecef_to_geodetic(r)
    assert abs(lat - 37.5665) < 1e-9 and abs(lon - 126.9780) < 1e-9 and abs(alt - 1.0) < 1e-6


def test_round_trip_vectorized_including_poles():
    rng = np.random.default_rng(1)
    lat = np.concatenate([rng.uniform(-90, 90, 500), [89.95, -89.99, 90.0 - 1e-7, 0.0]])
    lon = rng.uniform(-180, 180, lat.size)
    alt = rng.uniform(-1.0, 2000.0, lat.size)
    xyz = geo.geodetic_to_ecef(lat, lon, alt)
    assert xyz.shape == (lat.size, 3)
    lat2, lon2, alt2 = geo.ecef_to_geodetic(xyz)
    np.testing.assert_allclose(lat2, lat, atol=1e-9)
    polar = np.abs(lat) > 89.99999                    # longitude is ill-conditioned at the pole itself
    np.testing.assert_allclose(lon2[~polar], lon[~polar], atol=1e-9)
    np.testing.assert_allclose(alt2, alt, atol=1e-6)
    # a (2, 3, 3) input keeps its leading shape
    lat3, _, _ = geo.ecef_to_geodetic(xyz[:6].reshape(2, 3, 3))
    assert lat3.shape == (2, 3)


# --- checks 2 and 3: orbits ----------------------------------------------------------------------------------------

def _eci_reference(alt, incl, raan, argl0, t):
    """E1–E2 written out independently (inertial frame)."""
    a = geo.R_EQ_KM + alt
    u = np.radians(argl0) + np.sqrt(geo.MU_KM3_S2 / a ** 3) * t
    o, i = np.radians(raan), np.radians(incl)
    return a[..., None] * np.stack([np.cos(o) * np.cos(u) - np.sin(o) * np.cos(i) * np.sin(u),
                         np.sin(o) * np.cos(u) + np.cos(o) * np.cos(i) * np.sin(u),
                         np.sin(i) * np.sin(u)], axis=-1)


def test_check2_radius_period_speed_and_rotation():
    rng = np.random.default_rng(2)
    n = 40
    alt, incl = rng.uniform(500, 1200, n), np.degrees(np.arccos(rng.uniform(-1, 1, n)))
    raan, argl0 = rng.uniform(0, 360, n), rng.uniform(0, 360, n)
    t = np.linspace(0.0, 86400.0, 97)
    r, v = geo.sat_ecef(alt[None, :], incl[None, :], raan[None, :], argl0[None, :], t[:, None], 17.0)
    assert r.shape == v.shape == (t.size, n, 3)
    a = geo.R_EQ_KM + alt
    np.testing.assert_allclose(np.linalg.norm(r, axis=-1), np.broadcast_to(a, (t.size, n)), atol=1e-6)
    # |r^I| = a and r = R3(θ_g) r^I (E3)
    r_inertial = _eci_reference(alt[None, :], incl[None, :], raan[None, :], argl0[None, :], t[:, None])
    np.testing.assert_allclose(np.linalg.norm(r_inertial, axis=-1), np.broadcast_to(a, (t.size, n)), atol=1e-6)
    theta = np.radians(17.0) + geo.OMEGA_E_RAD_S * t[:, None]
    rotated = np.stack([np.cos(theta) * r_inertial[..., 0] + np.sin(theta) * r_inertial[..., 1],
                        -np.sin(theta) * r_inertial[..., 0] + np.cos(theta) * r_inertial[..., 1],
                        r_inertial[..., 2]], axis=-1)
    np.testing.assert_allclose(r, rotated, atol=1e-6)
    # ECEF velocity = d r / dt (central difference, 10 ms)
    h = 0.01
    r_plus, _ = geo.sat_ecef(alt, incl, raan, argl0, 5000.0 + h, 17.0)
    r_minus, _ = geo.sat_ecef(alt, incl, raan, argl0, 5000.0 - h, 17.0)
    _, v_mid = geo.sat_ecef(alt, incl, raan, argl0, 5000.0, 17.0)
    np.testing.assert_allclose((r_plus - r_minus) / (2 * h), v_mid, atol=1e-6)
    # periods and circular speed
    assert 2 * np.pi / geo.mean_motion(500.0) / 60 == pytest.approx(94.616, abs=1e-3)
    assert 2 * np.pi / geo.mean_motion(1200.0) / 60 == pytest.approx(109.422, abs=1e-3)
    assert (geo.R_EQ_KM + 500.0) * geo.mean_motion(500.0) == pytest.approx(7.6126, abs=1e-4)


def test_check3_reference_satellite_and_sidereal_day():
    r, v = geo.sat_ecef(500.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    np.testing.assert_allclose(r, [geo.R_EQ_KM + 500.0, 0.0, 0.0], atol=1e-9)
    lat, lon, alt = geo.ecef_to_geodetic(r)
    assert abs(lat) < 1e-9 and abs(lon) < 1e-9 and alt == pytest.approx(500.0, abs=1e-9)
    # v = R3 v^I − ω_E ẑ × r: (0, a n − ω_E a, 0)
    a = geo.R_EQ_KM + 500.0
    np.testing.assert_allclose(v, [0.0, a * geo.mean_motion(500.0) - geo.OMEGA_E_RAD_S * a, 0.0], atol=1e-12)
    assert abs(geo.OMEGA_E_RAD_S * 86164.0905 - 2 * np.pi) < 1e-6


def test_sat_ecef_broadcasting_matches_per_pair_calls():
    rng = np.random.default_rng(3)
    alt, incl, raan, argl0 = (rng.uniform(500, 1200, 7), rng.uniform(0, 180, 7), rng.uniform(0, 360, 7),
                              rng.uniform(0, 360, 7))
    t = np.arange(0, 50, 7.0)
    r, v = geo.sat_ecef(alt[None, :], incl[None, :], raan[None, :], argl0[None, :], t[:, None])
    tt, jj = np.meshgrid(t, np.arange(7), indexing="ij")
    r1, v1 = geo.sat_ecef(alt[jj.ravel()], incl[jj.ravel()], raan[jj.ravel()], argl0[jj.ravel()], tt.ravel())
    np.testing.assert_allclose(r.reshape(-1, 3), r1, rtol=1e-13)
    np.testing.assert_allclose(v.reshape(-1, 3), v1, rtol=1e-13)
    r_only, none = geo.sat_ecef(alt, incl, raan, argl0, 3.0, with_velocity=False)
    assert none is None
    np.testing.assert_array_equal(r_only, geo.sat_ecef(alt, incl, raan, argl0, 3.0)[0])


# --- checks 4–8: topocentric geometry ----------------------------------------------------------------------------

def test_check4_enu_directions():
    rr = geo.geodetic_to_ecef(0.0, 0.0, 0.0)
    e_hat, n_hat, u_hat = geo.enu_basis(0.0, 0.0)
    targets = np.stack([rr + 500.0 * u_hat, rr + 1000.0 * n_hat, rr + 1000.0 * e_hat])
    look = geo.look_angles(targets, np.zeros((3, 3)), rr, 0.0, 0.0)
    assert look["el_deg"][0] == pytest.approx(90.0, abs=1e-9)
    assert look["range_km"][0] == pytest.approx(500.0, abs=1e-9)
    assert look["az_deg"][1] == pytest.approx(0.0, abs=1e-9)
    assert look["el_deg"][1] == pytest.approx(0.0, abs=1e-9)
    assert look["az_deg"][2] == pytest.approx(90.0, abs=1e-9)
    assert set(look) == {"az_deg", "el_deg", "range_km", "ground_km", "heading_deg", "range_rate_kmps"}


def test_enu_basis_orthonormal_and_broadcast():
    lat = np.array([[10.0, -45.0], [80.0, 0.0]])
    e_hat, n_hat, u_hat = geo.enu_basis(lat, 33.0)
    assert e_hat.shape == n_hat.shape == u_hat.shape == (2, 2, 3)
    for a_vec, b_vec in ((e_hat, n_hat), (e_hat, u_hat), (n_hat, u_hat)):
        np.testing.assert_allclose(np.sum(a_vec * b_vec, axis=-1), 0.0, atol=1e-15)
    np.testing.assert_allclose(np.cross(e_hat, n_hat), u_hat, atol=1e-15)


@pytest.mark.parametrize("h_km, el_deg, expected_km", [(500.0, 10.0, 1694.6), (500.0, 30.0, 909.4),
                                                         (500.0, 90.0, 500.0), (600.0, 30.0, 1075.1)])
def test_check5_e7_matches_e12_on_a_sphere(h_km, el_deg, expected_km):
    rr = geo.geodetic_to_ecef(37.5665, 126.978, 0.0, a_km=R_SPHERE, e2=0.0)
    np.testing.assert_allclose(rr, _sphere_point(37.5665, 126.978, R_SPHERE), atol=1e-9)
    sat, _ = _sat_on_sphere(el_deg, 123.0, h_km)
    look = geo.look_angles(sat, np.zeros(3), rr, 37.5665, 126.978)
    assert look["el_deg"] == pytest.approx(el_deg, abs=1e-9)
    assert look["range_km"] == pytest.approx(expected_km, abs=0.1)
    assert look["range_km"] == pytest.approx(float(geo.slant_range_spherical(el_deg, h_km)), abs=1e-6)
    if el_deg < 90.0:
        assert look["az_deg"] == pytest.approx(123.0, abs=1e-9)


def test_check6_horizon_range():
    np.testing.assert_allclose(geo.horizon_range_km([500.0, 1200.0], R_SPHERE), [2573.1, 4090.3], atol=0.1)
    # the horizon range is the E12 slant range at El = 0
    np.testing.assert_allclose(geo.horizon_range_km(700.0), geo.slant_range_spherical(0.0, 700.0), rtol=1e-12)


def test_check7_ground_distance_to_elevation():
    g = np.array([750.0, 1000.0, 1250.0])
    np.testing.assert_allclose(geo.elevation_from_ground_km(g, 500.0), [29.28, 21.15, 15.37], atol=0.01)
    np.testing.assert_allclose(geo.elevation_from_ground_km(g, 1200.0), [52.23, 43.09, 35.55], atol=0.01)
    # and E7/E8 on a sphere agree: a satellite at elevation El has ground distance g with elevation_from_ground(g) = El
    rr = geo.geodetic_to_ecef(37.5665, 126.978, 0.0, a_km=R_SPHERE, e2=0.0)
    sat, sigma = _sat_on_sphere(21.15, 40.0, 500.0)
    look = geo.look_angles(sat, np.zeros(3), rr, 37.5665, 126.978)
    assert look["ground_km"] == pytest.approx(R_SPHERE * sigma, abs=1e-6)
    assert float(geo.elevation_from_ground_km(look["ground_km"], 500.0)) == pytest.approx(21.15, abs=1e-9)


def test_check8_flat_vs_enu():
    # Terminal on the equator at sea level, satellite 500 km above the equator at ground distance g = 1000 km
    # (central angle g / R_m along the equator): h_rel = 500, g = 1000 exactly in E13.
    rr = geo.geodetic_to_ecef(0.0, 0.0, 0.0)
    sigma = 1000.0 / geo.R_MEAN_KM
    sat = (geo.R_EQ_KM + 500.0) * np.array([np.cos(sigma), np.sin(sigma), 0.0])
    v = np.array([0.0, 0.0, 7.0])
    flat = geo.look_angles(sat, v, rr, 0.0, 0.0, model="flat")
    enu = geo.look_angles(sat, v, rr, 0.0, 0.0, model="enu")
    assert flat["ground_km"] == pytest.approx(1000.0, abs=1e-9)
    assert flat["el_deg"] == pytest.approx(26.57, abs=0.01)
    assert flat["range_km"] == pytest.approx(1118.0, abs=0.1)
    assert flat["az_deg"] == pytest.approx(90.0, abs=1e-9)            # great-circle bearing due east
    # ENU on the WGS-84 equator (radius R_eq, not R_m): check 7's sphere values 21.15° / 1151.6 km are for R = 6371,
    # here the exact E12 relation with R = R_eq holds and the check's values are met within 0.05° / 2 km.
    assert enu["el_deg"] == pytest.approx(float(geo.elevation_from_ground_km(geo.R_EQ_KM * sigma, 500.0, geo.R_EQ_KM)),
                                          abs=1e-9)
    assert enu["el_deg"] == pytest.approx(21.15, abs=0.05)
    assert enu["range_km"] == pytest.approx(1151.6, abs=2.0)
    assert flat["el_deg"] > enu["el_deg"] and flat["range_km"] < enu["range_km"]
    # heading and range rate stay ENU in the flat model
    assert flat["heading_deg"] == enu["heading_deg"] and flat["range_rate_kmps"] == enu["range_rate_kmps"]
    # the same on the sphere relations: 26.57 vs 21.15, 1118.0 vs 1151.6
    assert float(geo.elevation_from_ground_km(1000.0, 500.0)) == pytest.approx(21.15, abs=0.01)


def test_check8_flat_overestimates_elevation_on_random_pairs():
    rng = np.random.default_rng(8)
    n = 20000
    r, v = geo.sat_ecef(rng.uniform(500, 1200, n), np.degrees(np.arccos(rng.uniform(-1, 1, n))),
                        rng.uniform(0, 360, n), rng.uniform(0, 360, n), rng.uniform(0, 86400, n))
    rr = geo.geodetic_to_ecef(37.5665, 126.978, 1.0)
    enu = geo.look_angles(r, v, rr, 37.5665, 126.978)
    flat = geo.look_angles(r, v, rr, 37.5665, 126.978, model="flat")
    near = (enu["el_deg"] > 0) & (enu["ground_km"] > 50.0)
    assert near.sum() > 500
    assert np.all(flat["el_deg"][near] > enu["el_deg"][near])
    assert np.all(flat["range_km"][near] < enu["range_km"][near])
    assert np.all((flat["az_deg"] >= 0) & (flat["az_deg"] < 360))
    # azimuths of both models agree closely for nearby satellites (great-circle bearing vs topocentric)
    close = near & (enu["ground_km"] < 1500)
    diff = np.abs((flat["az_deg"][close] - enu["az_deg"][close] + 180) % 360 - 180)
    assert diff.max() < 1.0


# --- checks 9–11 ----------------------------------------------------------------------------------------------------

def test_check9_direction_difference_and_heading():
    assert geo.direction_difference(350.0, 10.0) == pytest.approx(20.0)
    assert geo.direction_difference(90.0, 270.0) == pytest.approx(180.0)
    rng = np.random.default_rng(9)
    dd = geo.direction_difference(rng.uniform(-720, 720, 10000), rng.integers(0, 360, 10000))
    assert dd.min() >= 0.0 and dd.max() <= 180.0
    # equatorial prograde satellite near a terminal at (0°, 0°) moves east
    rr = geo.geodetic_to_ecef(0.0, 0.0, 0.0)
    for argl0 in (-3.0, 0.0, 4.0):
        r, v = geo.sat_ecef(550.0, 0.0, 0.0, argl0, 0.0)
        look = geo.look_angles(r, v, rr, 0.0, 0.0)
        assert look["heading_deg"] == pytest.approx(90.0, abs=1.0)
    # a retrograde one moves west
    r, v = geo.sat_ecef(550.0, 180.0, 0.0, 0.0, 0.0)
    assert geo.look_angles(r, v, rr, 0.0, 0.0)["heading_deg"] == pytest.approx(270.0, abs=1.0)


def test_e9_heading_matches_forward_difference():
    rng = np.random.default_rng(90)
    n = 3000
    alt, incl, raan, argl0 = (rng.uniform(500, 1200, n), np.degrees(np.arccos(rng.uniform(-1, 1, n))),
                              rng.uniform(0, 360, n), rng.uniform(0, 360, n))
    t = rng.uniform(0, 86400, n)
    rr = geo.geodetic_to_ecef(37.5665, 126.978, 1.0)
    r0, v0 = geo.sat_ecef(alt, incl, raan, argl0, t)
    r1, _ = geo.sat_ecef(alt, incl, raan, argl0, t + 1.0)
    look = geo.look_angles(r0, v0, rr, 37.5665, 126.978)
    fd = geo.look_angles(r0, r1 - r0, rr, 37.5665, 126.978)
    inside = (look["el_deg"] > 0) & (look["ground_km"] < 1250)
    assert inside.sum() > 10
    assert geo.direction_difference(look["heading_deg"][inside], fd["heading_deg"][inside]).max() < 0.01


def test_check10_range_rate_sign():
    rng = np.random.default_rng(10)
    n = 40000
    alt, incl, raan, argl0 = (rng.uniform(500, 1200, n), np.degrees(np.arccos(rng.uniform(-1, 1, n))),
                              rng.uniform(0, 360, n), rng.uniform(0, 360, n))
    t = rng.integers(0, 86400, n).astype(float)
    rr = geo.geodetic_to_ecef(37.5665, 126.978, 1.0)
    r0, v0 = geo.sat_ecef(alt, incl, raan, argl0, t)
    r1, _ = geo.sat_ecef(alt, incl, raan, argl0, t + 1.0)
    rate = geo.look_angles(r0, v0, rr, 37.5665, 126.978)["range_rate_kmps"]
    step = np.linalg.norm(r1 - rr, axis=-1) - np.linalg.norm(r0 - rr, axis=-1)
    strong = np.abs(rate) > 0.01
    assert np.all(np.sign(rate[strong]) == np.sign(step[strong]))
    # ḋ = Δd/Δt up to O(Δt); against the central difference over ±0.5 s it agrees to O(Δt²)
    r_lo, _ = geo.sat_ecef(alt, incl, raan, argl0, t - 0.5)
    r_hi, _ = geo.sat_ecef(alt, incl, raan, argl0, t + 0.5)
    central = np.linalg.norm(r_hi - rr, axis=-1) - np.linalg.norm(r_lo - rr, axis=-1)
    np.testing.assert_allclose(rate, central, atol=1e-3)


def test_check11_fspl():
    assert geo.fspl_db(1.0) == pytest.approx(98.47, abs=0.005)
    assert geo.fspl_db(35786.0) - geo.fspl_db(1000.0) == pytest.approx(31.07, abs=0.005)
    assert geo.fspl_db(1.0, 20.0) - geo.fspl_db(1.0) == pytest.approx(20.0)


def test_look_angles_broadcast_per_element_terminal():
    """A moving terminal passes per-element positions; a single terminal broadcasts."""
    rng = np.random.default_rng(11)
    r, v = geo.sat_ecef(rng.uniform(500, 1200, 6), 53.0, rng.uniform(0, 360, 6), rng.uniform(0, 360, 6), 100.0)
    lat, lon = np.full(6, 37.5665), np.full(6, 126.978)
    rr = geo.geodetic_to_ecef(lat, lon, 1.0)
    per = geo.look_angles(r, v, rr, lat, lon, terminal_vel=np.zeros((6, 3)))
    one = geo.look_angles(r, v, rr[0], 37.5665, 126.978)
    for key in one:
        assert per[key].shape == (6,)
        np.testing.assert_allclose(per[key], one[key], rtol=1e-14, atol=1e-12)
    grid = geo.look_angles(r.reshape(2, 3, 3), v.reshape(2, 3, 3), rr[0], 37.5665, 126.978, model="flat")
    assert all(value.shape == (2, 3) for value in grid.values())
    with pytest.raises(ValueError):
        geo.look_angles(r, v, rr[0], 37.5665, 126.978, model="curved")


# --- E4b: moving terminal ------------------------------------------------------------------------------------------

def test_terminal_track_rhumb_line():
    t = np.array([-1000.0, 0.0, 1000.0])
    lat, lon = geo.terminal_track(37.5665, 126.978, 1.0, 0.0, 250.0, t)
    np.testing.assert_allclose(lat, 37.5665 + np.degrees(250.0 * t / 1000.0 / geo.R_MEAN_KM), atol=1e-12)
    np.testing.assert_allclose(lon, 126.978, atol=1e-9)
    lat, lon = geo.terminal_track(37.5665, 126.978, 1.0, 90.0, 250.0, t)
    np.testing.assert_allclose(lat, 37.5665, atol=1e-9)
    expected = 126.978 + np.degrees(250.0 * t / 1000.0 / (geo.R_MEAN_KM * np.cos(np.radians(37.5665))))
    np.testing.assert_allclose(lon, expected, atol=1e-9)
    # constant heading: the local course of a NE track stays 45° (finite difference on the sphere)
    lat, lon = geo.terminal_track(37.5665, 126.978, 1.0, 45.0, 250.0, np.array([5000.0, 5001.0]))
    dn = np.radians(lat[1] - lat[0])
    de = np.radians(lon[1] - lon[0]) * np.cos(np.radians(lat[0]))
    assert np.degrees(np.arctan2(de, dn)) == pytest.approx(45.0, abs=1e-3)
    assert np.hypot(dn, de) * geo.R_MEAN_KM * 1000.0 == pytest.approx(250.0, rel=1e-3)
    # latitude is clipped at ±89°, longitude wrapped to [−180, 180)
    lat, lon = geo.terminal_track(88.0, 179.9, 1.0, 10.0, 250.0, np.array([1e5, 1e6]))
    assert np.all(lat <= 89.0) and np.all((lon >= -180.0) & (lon < 180.0))
    # vectorized over headings
    lat, lon = geo.terminal_track(37.5665, 126.978, 1.0, np.arange(0, 360, 45.0)[:, None], 250.0,
                                  np.arange(3.0)[None, :])
    assert lat.shape == lon.shape == (8, 3)


def test_terminal_velocity_direction():
    lat, lon = geo.terminal_track(37.5665, 126.978, 1.0, 30.0, 250.0, np.array([0.0, 0.1]))
    pos = geo.geodetic_to_ecef(lat, lon, 1.0)
    vel = geo.terminal_velocity_ecef(lat[0], lon[0], 30.0, 250.0)
    assert np.linalg.norm(vel) == pytest.approx(0.25, rel=1e-12)
    fd = (pos[1] - pos[0]) / 0.1
    cos_angle = fd @ vel / (np.linalg.norm(fd) * np.linalg.norm(vel))
    assert np.degrees(np.arccos(min(cos_angle, 1.0))) < 0.5
