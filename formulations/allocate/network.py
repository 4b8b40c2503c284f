"""Network graph of the allocate family (§3.3, E6, E7) and route sets (§5.2 oracle routes, §7.0 CR)."""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass

import numpy as np

K_MAX = 40       # oracle routes kept per request-frame (Decision D21)
RHO_TURN = 1     # Chebyshev radius of UAV turn positions around the UE's area
K_LEG = 2        # shortest simple paths per target in the online candidate routes CR(h, G^t)


def _centres(rows: int, cols: int) -> np.ndarray:
    a = np.arange(rows * cols)
    return np.stack([(a % cols) + 0.5, (a // cols) + 0.5], axis=1)  # in cell units; only the order matters


def canonical_links(node_area, n_core: int, n_rsu: int, n_uav: int, rows: int, cols: int):
    """Physical links in the canonical order of §3.3: (link_ends (L,2) int, link_wireless (L,) bool)."""
    centre = _centres(rows, cols)
    cores = list(range(n_core))
    rsus = list(range(n_core, n_core + n_rsu))
    uavs = list(range(n_core + n_rsu, n_core + n_rsu + n_uav))
    dist = lambda n, m: float(np.hypot(*(centre[node_area[n]] - centre[node_area[m]])))  # noqa: E731
    wired_core = list(itertools.combinations(cores, 2))
    rsu_pairs = set()
    for m in rsus:
        nearest_core = min(cores, key=lambda c: (dist(m, c), c))
        rsu_pairs.add((min(m, nearest_core), max(m, nearest_core)))
        others = sorted((o for o in rsus if o != m), key=lambda o: (dist(m, o), o))[:2]
        rsu_pairs.update((min(m, o), max(m, o)) for o in others)
    wireless = [(u, m) for u in uavs for m in rsus] + list(itertools.combinations(uavs, 2))
    ends = wired_core + sorted(rsu_pairs) + wireless
    flags = [False] * (len(wired_core) + len(rsu_pairs)) + [True] * len(wireless)
    return np.array(ends, dtype=np.int64).reshape(-1, 2), np.array(flags, dtype=bool)


def link_lookup(inst) -> dict[tuple[int, int], int]:
    """(min node, max node) -> link id."""
    return {(int(min(a, b)), int(max(a, b))): l for l, (a, b) in enumerate(inst.link_ends)}


def node_areas(inst, uav_area_t) -> np.ndarray:
    """Area of every node in a frame, (N,), given the UAV areas of that frame (N_u,)."""
    areas = np.array(inst.node_area, dtype=np.int64)
    areas[inst.n_core + inst.n_rsu:] = np.asarray(uav_area_t, dtype=np.int64)
    return areas


def active_links(inst, uav_area_t) -> np.ndarray:
    """(L,) bool: wired links always, wireless links iff their ends are within r_w areas (E6)."""
    areas = node_areas(inst, uav_area_t)
    ends = inst.link_ends
    if len(ends) == 0:
        return np.zeros(0, dtype=bool)
    in_range = inst.cheb[areas[ends[:, 0]], areas[ends[:, 1]]] <= inst.wireless_range_cells
    return ~inst.link_wireless | in_range


def frame_adjacency(inst, uav_area_t) -> dict[int, dict[int, int]]:
    """G^t as adjacency: node -> {neighbour: link id}."""
    adj: dict[int, dict[int, int]] = {n: {} for n in range(inst.N)}
    for l in np.flatnonzero(active_links(inst, uav_area_t)):
        a, b = (int(x) for x in inst.link_ends[l])
        adj[a][b] = int(l)
        adj[b][a] = int(l)
    return adj


def frame_graph(inst, uav_area_t):
    """G^t as a networkx Graph with edge attributes l, lat (ms), energy (eu), cap (Mbps)."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(inst.N))
    for l in np.flatnonzero(active_links(inst, uav_area_t)):
        a, b = (int(x) for x in inst.link_ends[l])
        graph.add_edge(a, b, l=int(l), lat=float(inst.link_lat[l]), energy=float(inst.link_energy[l]),
                       cap=float(inst.link_cap[l]))
    return graph


def path_links(adjacency: dict[int, dict[int, int]], nodes) -> list[int] | None:
    """Link ids of consecutive node pairs, or None when some pair is not adjacent."""
    links = []
    for a, b in zip(nodes[:-1], nodes[1:]):
        l = adjacency.get(a, {}).get(b)
        if l is None:
            return None
        links.append(l)
    return links


@dataclass(frozen=True)
class Route:
    """A route on the expanded graph G^x. keys: vertex keys ((n, -1) fixed node, (n, a) UAV n in area a)."""

    keys: tuple
    nodes: tuple          # physical node ids, head first
    links: tuple          # physical link ids
    lat: float            # D_p, ms
    energy: float         # E_p, eu

    @property
    def head(self) -> int:
        return self.nodes[0]

    @property
    def uav_positions(self) -> tuple:
        return tuple(k for k in self.keys if k[1] >= 0)

    def order_key(self):
        return (self.energy, self.lat, len(self.keys), self.keys)


class ExpandedGraph:
    """G^x (§5.2): time-invariant graph of fixed nodes and every UAV position, with route caches per area."""

    def __init__(self, inst):
        self.inst = inst
        self.lookup = link_lookup(inst)
        fixed = [(n, -1) for n in range(inst.n_core + inst.n_rsu)]
        positions = [(n, a) for n in inst.uavs for a in range(inst.A)]
        self.vertices = fixed + positions
        self.adj: dict[tuple, dict[tuple, int]] = {v: {} for v in self.vertices}
        rw, cheb = inst.wireless_range_cells, inst.cheb
        for l, (a, b) in enumerate(inst.link_ends):
            a, b = int(a), int(b)
            if not inst.link_wireless[l]:
                self._edge((a, -1), (b, -1), l)
            elif inst.node_type(b) == "rsu":          # (uav, rsu)
                rsu_area = int(inst.node_area[b])
                for pos in range(inst.A):
                    if cheb[pos, rsu_area] <= rw:
                        self._edge((a, pos), (b, -1), l)
            else:                                      # (uav, uav)
                for pa in range(inst.A):
                    for pb in np.flatnonzero(cheb[pa] <= rw):
                        self._edge((a, pa), (b, int(pb)), l)
        self._area_cache: dict[int, list[Route]] = {}

    def _edge(self, u, v, l):
        self.adj[u][v] = l
        self.adj[v][u] = l

    def route(self, keys) -> Route:
        links = tuple(self.adj[u][v] for u, v in zip(keys[:-1], keys[1:]))
        inst = self.inst
        return Route(tuple(keys), tuple(k[0] for k in keys), links,
                     float(sum(inst.link_lat[l] for l in links)), float(sum(inst.link_energy[l] for l in links)))

    def heads(self, area: int) -> list[tuple]:
        """H_a: RSUs located in the area and every UAV positioned there."""
        inst = self.inst
        return [(m, -1) for m in inst.rsus if inst.node_area[m] == area] + [(n, area) for n in inst.uavs]

    def _dijkstra(self, source, banned: set) -> dict:
        """Latency-shortest paths from source avoiding banned vertices; ties: fewer hops, smaller key sequence."""
        lat = self.inst.link_lat
        best = {source: (0.0, 0, (source,))}
        heap = [(0.0, 0, (source,))]
        while heap:
            d, hops, path = heapq.heappop(heap)
            u = path[-1]
            if best[u] != (d, hops, path):
                continue
            for v, l in self.adj[u].items():
                if v in banned:
                    continue
                label = (d + float(lat[l]), hops + 1, path + (v,))
                if v not in best or label < best[v]:
                    best[v] = label
                    heapq.heappush(heap, label)
        return best

    def _best_into(self, labels: dict, target) -> tuple | None:
        """Best label of a path that ends at `target` through one of its neighbours present in `labels`."""
        lat = self.inst.link_lat
        options = [(labels[v][0] + float(lat[l]), labels[v][1] + 1, labels[v][2] + (target,))
                   for v, l in self.adj[target].items() if v in labels and target not in labels[v][2]]
        return min(options) if options else None

    def candidates(self, area: int) -> list[Route]:
        """Steps 1-3 of §5.2 for a UE area (cached): trivial routes and per-turn-node shortest paths."""
        if area in self._area_cache:
            return self._area_cache[area]
        inst = self.inst
        fixed = [(n, -1) for n in range(inst.n_core + inst.n_rsu)]
        fixed_set = set(fixed)
        uav_turns = [(n, a) for n in inst.uavs for a in range(inst.A) if inst.cheb[a, area] <= RHO_TURN]
        positions_of = {n: {(n, a) for a in range(inst.A)} for n in inst.uavs}
        found: dict[tuple, Route] = {}
        for h in self.heads(area):
            found[(h,)] = self.route((h,))
            own = positions_of.get(h[0], set()) - {h}
            # "infrastructure" variant: fixed nodes plus h (and the target)
            infra = self._dijkstra(h, set(self.vertices) - fixed_set - {h})
            # "any" variant towards fixed targets and towards positions of each other UAV
            any_fixed = self._dijkstra(h, own)
            per_uav = {n: self._dijkstra(h, own | positions_of[n]) for n in inst.uavs if n != h[0]}
            for m in fixed + uav_turns:
                if m == h or (m[1] >= 0 and m[0] == h[0]):
                    continue
                if m[1] < 0:
                    any_label, infra_label = any_fixed.get(m), infra.get(m)
                else:
                    any_label = self._best_into(per_uav[m[0]], m)
                    infra_label = self._best_into(infra, m)
                for label in (any_label, infra_label):
                    if label is not None and _conflict_free(label[2]):
                        found.setdefault(label[2], self.route(label[2]))
        routes = sorted(found.values(), key=Route.order_key)
        self._area_cache[area] = routes
        return routes

    def all_routes(self, area: int, max_latency: float) -> list[Route]:
        """Every conflict-free simple path starting at a head of the area with D_p <= max_latency (route_set="all")."""
        lat = self.inst.link_lat
        routes = []

        def extend(path, d, used_uavs):
            routes.append(self.route(path))
            for v, l in self.adj[path[-1]].items():
                nd = d + float(lat[l])
                if v in path or nd > max_latency or (v[1] >= 0 and v[0] in used_uavs):
                    continue
                extend(path + (v,), nd, used_uavs | ({v[0]} if v[1] >= 0 else set()))

        for h in self.heads(area):
            extend((h,), 0.0, {h[0]} if h[1] >= 0 else set())
        return sorted(routes, key=Route.order_key)

    def request_routes(self, area: int, latency_bound: float, route_set: str = "candidates") -> list[Route]:
        """P^t_r (§5.2 steps 4-5) for a UE in `area` with latency bound Ď_r."""
        if route_set == "all":
            return self.all_routes(area, latency_bound)
        routes = [p for p in self.candidates(area) if p.lat <= latency_bound]
        if len(routes) <= K_MAX:
            return routes
        keep = {p.keys for p in routes if len(p.keys) == 1}
        cores = set(self.inst.cores)
        for h in {p.keys[0] for p in routes}:
            for core in cores:
                to_core = [p for p in routes if p.keys[0] == h and p.nodes[-1] == core]
                if to_core:
                    keep.add(min(to_core, key=Route.order_key).keys)
        chosen = [p for p in routes if p.keys in keep]
        chosen += [p for p in routes if p.keys not in keep][: max(0, K_MAX - len(chosen))]
        return sorted(chosen, key=Route.order_key)


def _conflict_free(keys) -> bool:
    uavs = [k[0] for k in keys if k[1] >= 0]
    return len(uavs) == len(set(uavs))


def candidate_routes(graph, head: int, k_leg: int = K_LEG) -> list[tuple]:
    """CR(h, G^t) (§7.0): the trivial route plus, for every other reachable node, the first k_leg
    latency-shortest simple paths; node tuples, duplicates removed, in discovery order."""
    import networkx as nx

    routes = [(head,)]
    seen = {(head,)}
    reachable = nx.node_connected_component(graph, head)
    for target in sorted(reachable - {head}):
        for path in itertools.islice(nx.shortest_simple_paths(graph, head, target, weight="lat"), k_leg):
            key = tuple(path)
            if key not in seen:
                seen.add(key)
                routes.append(key)
    return routes
