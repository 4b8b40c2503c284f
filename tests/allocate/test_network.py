"""Network graph and route sets of the allocate family (docs/families/allocate.md §3.3, §5.2, §7.0,
§10 "Topology")."""
from __future__ import annotations

import functools
import itertools

import networkx as nx
import numpy as np
import pytest

import optkit
from optkit.formulations.allocate.network import (
    K_LEG, K_MAX, ExpandedGraph, active_links, candidate_routes, canonical_links, frame_adjacency, frame_graph,
    link_lookup, node_areas, path_links,
)
from optkit.scenarios import load_scenario, scenario_ids

FAMILY = "allocate"


@functools.lru_cache(maxsize=None)
def make(preset: str, seed: int = 0, point: str | None = None):
    return optkit.make_instance(FAMILY, preset, seed, point=point)


@functools.lru_cache(maxsize=None)
def expanded(preset: str, seed: int = 0) -> ExpandedGraph:
    return ExpandedGraph(make(preset, seed))


def cheb(inst, a: int, b: int) -> int:
    """Chebyshev distance of two areas, from row-major ids (E1), computed here independently."""
    return max(abs(a // inst.grid_cols - b // inst.grid_cols), abs(a % inst.grid_cols - b % inst.grid_cols))


# ---------------------------------------------------------------------------------------------- canonical order
def test_canonical_links_hand_case_with_ties():
    """3x3 grid (areas row-major 0..8). Cores 0@0, 1@2; RSUs 2@4, 3@1, 4@7, 5@5; UAVs 6@3, 7@8.

    Nearest core (ties -> lower id): RSU2 {sqrt2, sqrt2} -> 0; RSU3 {1, 1} -> 0; RSU4 {sqrt5, sqrt5} -> 0;
    RSU5 {sqrt5, 1} -> 1. Two nearest RSUs (ties -> lower id): RSU2: 3, 4 (all at 1); RSU3: 2 (1), 5 (sqrt2);
    RSU4: 2 (1), 5 (sqrt2); RSU5: 2 (1), 3 (sqrt2, tie with 4).
    """
    node_area = np.array([0, 2, 4, 1, 7, 5, 3, 8])
    ends, wireless = canonical_links(node_area, 2, 4, 2, 3, 3)
    expected_wired = [(0, 1),                                           # core mesh
                      (0, 2), (0, 3), (0, 4), (1, 5), (2, 3), (2, 4), (2, 5), (3, 5), (4, 5)]
    expected_wireless = [(6, 2), (6, 3), (6, 4), (6, 5), (7, 2), (7, 3), (7, 4), (7, 5),   # (uav, rsu)
                         (6, 7)]                                                           # uav-uav
    assert [tuple(e) for e in ends.tolist()] == expected_wired + expected_wireless
    assert wireless.tolist() == [False] * len(expected_wired) + [True] * len(expected_wireless)
    assert ends.dtype.kind == "i" and wireless.dtype == bool


def test_canonical_links_three_cores_single_rsu_no_uav_uav():
    """Cores 0@0, 1@8, 2@6 (full mesh, lexicographic); one RSU 3@7: nearest core 1 (1) vs 2 (1) -> 1;
    no RSU-RSU link; UAV 4 only links to the RSU."""
    ends, wireless = canonical_links(np.array([0, 8, 6, 7, 0]), 3, 1, 1, 3, 3)
    assert [tuple(e) for e in ends.tolist()] == [(0, 1), (0, 2), (1, 2), (1, 3), (4, 3)]
    assert wireless.tolist() == [False, False, False, False, True]


def test_canonical_links_do_not_depend_on_uav_positions():
    base = canonical_links(np.array([0, 2, 4, 1, 7, 5, 3, 8]), 2, 4, 2, 3, 3)
    for uav_areas in ([0, 0], [8, 4], [4, 8]):
        ends, wireless = canonical_links(np.array([0, 2, 4, 1, 7, 5] + uav_areas), 2, 4, 2, 3, 3)
        np.testing.assert_array_equal(ends, base[0])
        np.testing.assert_array_equal(wireless, base[1])


def test_no_uav_core_links_and_one_link_per_pair():
    for preset in ("tiny", "paper-default"):
        inst = make(preset, 1)
        pairs = [tuple(sorted(e)) for e in inst.link_ends.tolist()]
        assert len(pairs) == len(set(pairs))
        for (a, b), wl in zip(inst.link_ends.tolist(), inst.link_wireless.tolist()):
            types = {inst.node_type(a), inst.node_type(b)}
            assert "uav" in types if wl else "uav" not in types
            assert not ({"core", "uav"} <= types)
        assert link_lookup(inst) == {p: l for l, p in enumerate(pairs)}


# ---------------------------------------------------------------------------------------------- active links
@pytest.mark.parametrize("preset", ["tiny", "paper-default", "sweep-nodes"])
def test_wireless_link_active_iff_chebyshev_at_most_one(preset):
    inst = make(preset, 2, "23" if preset == "sweep-nodes" else None)
    rng = np.random.default_rng(12345)
    for _ in range(30):
        uav_area = rng.integers(inst.A, size=inst.n_uav)
        areas = node_areas(inst, uav_area)
        assert areas[:inst.n_core + inst.n_rsu].tolist() == inst.node_area[:inst.n_core + inst.n_rsu].tolist()
        assert areas[inst.n_core + inst.n_rsu:].tolist() == uav_area.tolist()
        active = active_links(inst, uav_area)
        for l, (a, b) in enumerate(inst.link_ends.tolist()):
            expected = (not inst.link_wireless[l]) or cheb(inst, int(areas[a]), int(areas[b])) <= 1
            assert bool(active[l]) == expected
        graph = frame_graph(inst, uav_area)
        assert set(graph.nodes) == set(range(inst.N))
        assert {tuple(sorted(e)) for e in graph.edges} == {tuple(sorted(inst.link_ends[l])) for l in
                                                           np.flatnonzero(active)}
        for u, v, data in graph.edges(data=True):
            l = data["l"]
            assert sorted((u, v)) == sorted(inst.link_ends[l].tolist())
            assert (data["lat"], data["energy"], data["cap"]) == (inst.link_lat[l], inst.link_energy[l],
                                                                  inst.link_cap[l])
        adj = frame_adjacency(inst, uav_area)
        assert {(a, b) for a in adj for b in adj[a]} == {(a, b) for a, b in graph.edges} | {(b, a) for a, b in
                                                                                             graph.edges}


def test_all_uavs_stacked_on_an_rsu_connect_to_it():
    inst = make("paper-default", 0)
    rsu = inst.rsus[0]
    area = int(inst.node_area[rsu])
    active = active_links(inst, np.full(inst.n_uav, area))
    lookup = link_lookup(inst)
    for n in inst.uavs:
        assert active[lookup[(rsu, n)]]
    for n, m in itertools.combinations(inst.uavs, 2):
        assert active[lookup[(n, m)]]


def _all_points():
    for sid in scenario_ids(FAMILY):
        sc = load_scenario(FAMILY, sid)
        yield from ([(sid, p.label) for p in sc.points] if sc.points else [(sid, None)])


@pytest.mark.parametrize("preset,point", sorted(_all_points(), key=str))
def test_wired_core_rsu_subgraph_is_connected(preset, point):
    for seed in range(5):
        inst = make(preset, seed, point)
        g = nx.Graph()
        g.add_nodes_from(range(inst.n_core + inst.n_rsu))
        g.add_edges_from(e for e, wl in zip(inst.link_ends.tolist(), inst.link_wireless.tolist()) if not wl)
        assert set(g.nodes) == set(range(inst.n_core + inst.n_rsu))   # wired links touch fixed nodes only
        assert nx.is_connected(g)


# ---------------------------------------------------------------------------------------------- G^x built here
def build_gx(inst) -> nx.Graph:
    """The expanded graph of §5.2, built from the text of §5.2 (independent of ExpandedGraph)."""
    lookup = link_lookup(inst)
    g = nx.Graph()
    fixed = range(inst.n_core + inst.n_rsu)
    g.add_nodes_from((n, -1) for n in fixed)
    g.add_nodes_from((n, a) for n in inst.uavs for a in range(inst.A))
    for l, ((a, b), wl) in enumerate(zip(inst.link_ends.tolist(), inst.link_wireless.tolist())):
        if not wl:
            g.add_edge((a, -1), (b, -1), l=l)
    for n in inst.uavs:
        for m in inst.rsus:
            for a in range(inst.A):
                if cheb(inst, a, int(inst.node_area[m])) <= inst.wireless_range_cells:
                    g.add_edge((n, a), (m, -1), l=lookup[(min(n, m), max(n, m))])
    for n, n2 in itertools.combinations(inst.uavs, 2):
        for a in range(inst.A):
            for a2 in range(inst.A):
                if cheb(inst, a, a2) <= inst.wireless_range_cells:
                    g.add_edge((n, a), (n2, a2), l=lookup[(n, n2)])
    return g


def key_lat(inst, gx, keys) -> float:
    return float(sum(inst.link_lat[gx.edges[u, v]["l"]] for u, v in zip(keys[:-1], keys[1:])))


def conflict_free(keys) -> bool:
    uavs = [k[0] for k in keys if k[1] >= 0]
    return len(uavs) == len(set(uavs))


def heads_of(inst, area):
    return [(m, -1) for m in inst.rsus if inst.node_area[m] == area] + [(n, area) for n in inst.uavs]


def check_route(inst, gx, area, route):
    keys = route.keys
    assert keys[0] in heads_of(inst, area)
    assert conflict_free(keys)
    assert len(set(keys)) == len(keys)                                 # simple path of G^x
    for u, v in zip(keys[:-1], keys[1:]):
        assert gx.has_edge(u, v), (u, v)
    links = tuple(gx.edges[u, v]["l"] for u, v in zip(keys[:-1], keys[1:]))
    assert route.links == links
    assert route.nodes == tuple(k[0] for k in keys) and route.head == keys[0][0]
    assert route.uav_positions == tuple(k for k in keys if k[1] >= 0)
    assert route.lat == pytest.approx(sum(inst.link_lat[l] for l in links), rel=1e-12, abs=1e-12)
    assert route.energy == pytest.approx(sum(inst.link_energy[l] for l in links), rel=1e-12, abs=1e-12)
    if len(keys) == 1:
        assert route.lat == 0.0 and route.energy == 0.0


@pytest.mark.parametrize("preset,seed", [("tiny", 0), ("tiny", 1), ("small", 0)])
def test_expanded_graph_matches_spec_construction(preset, seed):
    inst, ex = make(preset, seed), expanded(preset, seed)
    gx = build_gx(inst)
    assert set(ex.vertices) == set(gx.nodes)
    mine = {frozenset((u, v)): d["l"] for u, v, d in gx.edges(data=True)}
    theirs = {frozenset((u, v)): l for u in ex.adj for v, l in ex.adj[u].items()}
    assert theirs == mine
    for area in range(inst.A):
        assert sorted(ex.heads(area)) == sorted(heads_of(inst, area))


@pytest.mark.parametrize("preset,seed", [("tiny", 0), ("tiny", 1), ("tiny", 2), ("small", 0), ("small", 3)])
def test_candidate_routes_are_valid_routes(preset, seed):
    inst, ex = make(preset, seed), expanded(preset, seed)
    gx = build_gx(inst)
    for area in range(inst.A):
        routes = ex.candidates(area)
        assert len({p.keys for p in routes}) == len(routes)             # no duplicates
        assert [p.order_key() for p in routes] == sorted(p.order_key() for p in routes)
        for p in routes:
            check_route(inst, gx, area, p)
        # every head has its trivial route
        assert {p.keys for p in routes if len(p.keys) == 1} == {(h,) for h in heads_of(inst, area)}
        # step 3 for fixed turn nodes m: (ii) the latency-shortest path through the fixed nodes only is a
        # candidate; (i) the latency-shortest path of G^x without the other positions of h's UAV is a candidate
        # whenever it is conflict-free, and no candidate beats it
        fixed = [(n, -1) for n in range(inst.n_core + inst.n_rsu)]
        weight = lambda u, v, d: inst.link_lat[d["l"]]  # noqa: E731
        for h in heads_of(inst, area):
            infra = gx.subgraph(fixed + [h])
            anyg = gx.subgraph([v for v in gx.nodes if v == h or v[1] < 0 or v[0] != h[0]])
            for m in fixed:
                if m == h:
                    continue
                to_m = [p.lat for p in routes if p.keys[0] == h and p.keys[-1] == m]
                if not nx.has_path(anyg, h, m):
                    assert not to_m
                    continue
                best_any = nx.shortest_path_length(anyg, h, m, weight=weight)
                assert all(x >= best_any - 1e-9 for x in to_m)
                if conflict_free(nx.shortest_path(anyg, h, m, weight=weight)):
                    assert min(to_m) == pytest.approx(best_any, rel=1e-12)
                if not nx.has_path(infra, h, m):
                    continue
                best_infra = nx.shortest_path_length(infra, h, m, weight=weight)
                assert any(x == pytest.approx(best_infra, rel=1e-12) for x in to_m)


@pytest.mark.parametrize("preset,seed", [("tiny", 0), ("tiny", 3), ("small", 1), ("paper-default", 0)])
def test_request_routes_respect_latency_kmax_and_keep_trivial_routes(preset, seed):
    inst, ex = make(preset, seed), expanded(preset, seed)
    truncated = 0
    for area in range(inst.A):
        cands = ex.candidates(area)
        for bound in (20.0, 50.0, 75.0, 100.0, 1e9):
            routes = ex.request_routes(area, bound)
            keys = [p.keys for p in routes]
            assert len(set(keys)) == len(keys) <= K_MAX
            assert all(p.lat <= bound for p in routes)
            assert set(keys) <= {p.keys for p in cands}
            assert {(h,) for h in heads_of(inst, area)} <= set(keys)
            within = [p for p in cands if p.lat <= bound]
            if len(within) <= K_MAX:
                assert keys == [p.keys for p in within]
                continue
            truncated += 1
            # step 5: keep trivial routes and, per head, the minimum-energy route to every core; fill by order
            keep = {p.keys for p in within if len(p.keys) == 1}
            for h in {p.keys[0] for p in within}:
                for core in inst.cores:
                    to_core = [p for p in within if p.keys[0] == h and p.nodes[-1] == core]
                    if to_core:
                        keep.add(min(to_core, key=lambda p: p.order_key()).keys)
            assert keep <= set(keys)
            rest = [p.keys for p in sorted(within, key=lambda p: p.order_key()) if p.keys not in keep]
            assert set(keys) == keep | set(rest[:max(0, K_MAX - len(keep))])
            assert len(keys) == max(K_MAX, len(keep))
    if preset in ("small", "paper-default"):
        assert truncated > 0                                          # the K_MAX rule is really exercised


# ---------------------------------------------------------------------------------------------- route_set="all"
def brute_force_routes(inst, gx, area):
    """Every conflict-free simple path of G^x from a head of the area: for every choice of one position per
    UAV, all simple paths of the subgraph induced by the fixed nodes and the chosen positions."""
    fixed = [(n, -1) for n in range(inst.n_core + inst.n_rsu)]
    uavs = list(inst.uavs)
    found = set()
    for h in heads_of(inst, area):
        choices = [[h[1]] if n == h[0] else range(inst.A) for n in uavs]
        for pos in itertools.product(*choices):
            sub = gx.subgraph(fixed + [(n, a) for n, a in zip(uavs, pos)])
            found.add((h,))
            targets = [v for v in sub.nodes if v != h]
            found.update(tuple(p) for p in nx.all_simple_paths(sub, h, targets))
    assert all(conflict_free(k) for k in found)
    return {k: key_lat(inst, gx, k) for k in found}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_all_routes_is_exactly_the_brute_force_set(seed):
    inst, ex = make("tiny", seed), expanded("tiny", seed)
    gx = build_gx(inst)
    for area in range(inst.A):
        every = brute_force_routes(inst, gx, area)
        exact = sorted(set(every.values()))
        # round bounds, and bounds equal to a route's latency (D_p <= bound is inclusive)
        for bound in (0.0, 15.0, 30.0, 50.0, 60.0, 85.0, 100.0, 1e9, exact[1], exact[len(exact) // 2]):
            routes = ex.all_routes(area, bound)
            keys = [p.keys for p in routes]
            assert len(set(keys)) == len(keys)
            assert set(keys) == {k for k, lat in every.items() if lat <= bound}
            for p in routes:
                check_route(inst, gx, area, p)
            assert ex.request_routes(area, bound, route_set="all") == routes
            # superset of the oracle candidates within the same bound
            assert {p.keys for p in ex.request_routes(area, bound)} <= set(keys)
        assert len(every) > len(ex.candidates(area))                   # "all" is really larger on tiny


def test_all_routes_with_the_requests_own_bounds():
    inst, ex = make("tiny", 0), expanded("tiny", 0)
    for r in range(inst.R):
        for t in inst.active_frames(r):
            area, bound = inst.area(r, t), float(inst.req_latency[r])
            everything = {p.keys for p in ex.all_routes(area, bound)}
            assert {p.keys for p in ex.request_routes(area, bound)} <= everything


# ---------------------------------------------------------------------------------------------- CR(h, G^t)
@pytest.mark.parametrize("preset,seed", [("tiny", 0), ("tiny", 4), ("small", 2)])
def test_online_candidate_routes(preset, seed):
    inst = make(preset, seed)
    rng = np.random.default_rng(seed)
    lat = lambda u, v, d: d["lat"]  # noqa: E731
    for _ in range(5):
        uav_area = rng.integers(inst.A, size=inst.n_uav)
        graph = frame_graph(inst, uav_area)
        adj = frame_adjacency(inst, uav_area)
        for head in range(inst.n_core, inst.N):
            routes = candidate_routes(graph, head)
            assert routes[0] == (head,)
            assert len(set(routes)) == len(routes)
            reachable = nx.node_connected_component(graph, head) - {head}
            by_target: dict[int, list] = {}
            for route in routes[1:]:
                assert route[0] == head and len(set(route)) == len(route) >= 2
                assert path_links(adj, route) is not None                  # a path of G^t
                by_target.setdefault(route[-1], []).append(route)
            assert set(by_target) == reachable
            for target, paths in by_target.items():
                n_simple = sum(1 for _ in itertools.islice(nx.all_simple_paths(graph, head, target), K_LEG))
                assert len(paths) == min(K_LEG, n_simple)
                best = nx.shortest_path_length(graph, head, target, weight=lat)
                assert nx.path_weight(graph, list(paths[0]), "lat") == pytest.approx(best, rel=1e-12)
                lats = [nx.path_weight(graph, list(p), "lat") for p in paths]
                assert lats == sorted(lats)


def test_candidate_routes_of_isolated_head_is_trivial():
    g = nx.Graph()
    g.add_nodes_from(range(4))
    g.add_edge(0, 1, lat=1.0)
    assert candidate_routes(g, 3) == [(3,)]
    assert candidate_routes(g, 0) == [(0,), (0, 1)]
