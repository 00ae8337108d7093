"""Seeded SYBARVAL demo territory: a synthetic land-cover background with the real changes burned in.

The demo store holds a full-coverage ``occupation_sol`` layer for 2015 and 2018 over the 17 communes
of the SCoT Bassin d'Arcachon - Val de l'Eyre (Gironde). No public full-coverage OCS GE exists for
them, so (see ``docs/demo.md``):

* the **background** is synthetic and identical in both years: a Voronoi tessellation of seeded
  points whose density depends on a zone (urban cores, their fringe, Landes pine forest, fields,
  the Arcachon basin shore), with zone-specific CS×US couples, plus a main-road network;
* the **changes** are real: the polygons of ``A_B_2015_2018.shp`` (artificialised) and
  ``A_B_2018_2015.shp`` (de-artificialised) are cut out of the background and inserted with their
  real CS/US of 2015 (in the 2015 layer) and of 2018 (in the 2018 layer).

Each commune of ``Communes_SYBARVAL.shp`` is partitioned exactly (clipped, no overlap), feature ids
are identical in both millésimes, and the 2015 -> 2018 flows across the CS1.1 boundary are the
real ones. Every random draw is made from a generator seeded by (``seed``, commune code), so a
commune's features do not depend on which other communes are built.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio import features as rio_features
from affine import Affine
from scipy import ndimage
from scipy.special import ndtr
from scipy.sparse.csgraph import minimum_spanning_tree

from ocsge_engine.config import get_settings
from ocsge_engine.nomenclature import require_known
from ocsge_engine.store.parquet import polygonal_parts

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

DEPARTEMENT = "33"
MILLESIMES: tuple[int, int] = (2015, 2018)
NOTE = "fond synthétique, changements réels OCS GE"
BUILDER_VERSION = 1
INPUT_FILES: tuple[str, ...] = ("Communes_SYBARVAL.shp", "A_B_2015_2018.shp", "A_B_2018_2015.shp",
                                "SYBARVAL.shp")
# Zones of the background (raster values); 0 = outside every commune.
OUTSIDE, FOREST, AGRI, FRINGE, URBAN, SHORE = range(6)
ZONE_NAMES: dict[int, str] = {OUTSIDE: "outside", FOREST: "forest", AGRI: "agri", FRINGE: "fringe",
                              URBAN: "urban", SHORE: "shore"}
# CS×US couples drawn in each zone, with their probabilities. Conifers × sylviculture dominate:
# this is the Landes pine forest. Urban cores are ~77 % CS1.1 so that their area approximates the
# published artificialised surface 2018 of each commune (A_Brute_20).
ZONE_CLASSES: dict[int, tuple[tuple[str, str, float], ...]] = {
    FOREST: (("CS2.1.1.2", "US1.2", 0.80), ("CS2.1.1.3", "US1.2", 0.05),
             ("CS2.1.1.1", "US1.2", 0.04), ("CS2.1.2", "US1.2", 0.06), ("CS2.2.1", "US1.2", 0.03),
             ("CS1.2.1", "US1.2", 0.02)),
    AGRI: (("CS2.2.1", "US1.1", 0.85), ("CS2.2.1", "US6.3", 0.05), ("CS2.1.2", "US6.3", 0.04),
           ("CS2.1.1.1", "US6.3", 0.03), ("CS1.1.1.1", "US1.1", 0.015),
           ("CS1.1.2.1", "US1.1", 0.015)),
    FRINGE: (("CS2.2.1", "US6.3", 0.25), ("CS2.1.1.1", "US6.3", 0.15), ("CS2.1.1.2", "US1.2", 0.20),
             ("CS2.2.1", "US5", 0.10), ("CS1.1.1.1", "US5", 0.10), ("CS2.1.2", "US6.3", 0.08),
             ("CS2.2.1", "US1.1", 0.07), ("CS1.1.2.1", "US6.1", 0.03),
             ("CS1.1.1.2", "US4.1.1", 0.02)),
    URBAN: (("CS1.1.1.1", "US5", 0.43), ("CS1.1.1.2", "US4.1.1", 0.12), ("CS1.1.1.2", "US5", 0.05),
            ("CS2.2.1", "US5", 0.14), ("CS2.1.1.1", "US5", 0.06), ("CS1.1.1.1", "US3", 0.06),
            ("CS1.1.1.1", "US2", 0.02), ("CS1.1.1.2", "US3", 0.03), ("CS1.1.2.1", "US4.1.1", 0.02),
            ("CS2.2.1", "US6.3", 0.03), ("CS1.1.2.2", "US3", 0.02), ("CS1.1.1.1", "US235", 0.02)),
    SHORE: (("CS1.2.2", "US6.3", 0.35), ("CS1.2.2", "US1.4", 0.15), ("CS2.2.1", "US6.3", 0.25),
            ("CS1.2.1", "US6.3", 0.15), ("CS2.1.2", "US6.3", 0.10)),
}
ROAD_CLASS = ("CS1.1.1.2", "US4.1.1")
# A few real change polygons have no CS/US for one year (8 polygons, 333 m², all on the
# non-artificial side of the change): a non-artificial couple with unknown usage stands in.
MISSING_CODES: dict[str, str] = {"cs": "CS2.2.1", "us": "US6.6"}


@dataclass(frozen=True)
class DemoParams:
    """Parameters of the background generator (their hash is part of the source hash).

    Attributes:
        seed: base seed; each commune draws from ``default_rng([seed, int(code)])``.
        grid_m: cell size of the zone raster (m).
        points_per_ha: mean Voronoi seeds per hectare in each zone (mean polygon = 1 / value ha).
        urban_sigma_m: smoothing radius of the change-density field that places urban cores.
        urban_ha_per_artif_ha: urban-core area per published artificialised hectare (A_Brute_20);
            below 1/0.77 because roads, the fringe, farm buildings and the real changes add CS1.1
            outside the cores (calibrated so that the demo's CS1.1 stock is close to A_Brute_20).
        fringe_m: width of the periurban ring around cores.
        shore_m: width of the shore band along the Arcachon basin.
        agri_share: share of each commune's rural land given to fields.
        road_half_width_m: half width of the main roads.
        road_piece_m: roads are cut into squares of this size (polygons of a few hundred metres).
        min_part_m2: parts smaller than this left by the overlays are dropped.
        texture_sigma_m: correlation radius of the class texture (stands, neighbourhoods).
        class_jitter: weight of the independent part of each class draw (1 = no texture).
    """

    seed: int = 20152018
    grid_m: float = 100.0
    points_per_ha: tuple[tuple[int, float], ...] = (
        (OUTSIDE, 0.08), (FOREST, 0.08), (AGRI, 0.06), (FRINGE, 0.5), (URBAN, 2.0), (SHORE, 0.5))
    urban_sigma_m: float = 500.0
    urban_ha_per_artif_ha: float = 0.92
    fringe_m: float = 200.0
    shore_m: float = 150.0
    agri_share: float = 0.10
    road_half_width_m: float = 6.0
    road_piece_m: float = 500.0
    min_part_m2: float = 0.01
    texture_sigma_m: float = 400.0
    class_jitter: float = 0.35

    def digest(self) -> str:
        """SHA-256 of the parameters and the builder version."""
        payload = json.dumps({"version": BUILDER_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass(frozen=True)
class DemoInputs:
    """The real inputs, loaded and normalised.

    Attributes:
        communes: ``code``, ``name``, ``artif_2018_ha`` (published A_Brute_20), geometry.
        changes: one row per real change polygon (valid, overlaps removed): ``origin``
            (``artif``/``desartif``), ``source_index``, ``cs_2015``, ``us_2015``, ``cs_2018``,
            ``us_2018``, geometry.
        basin: the Arcachon basin water (SYBARVAL perimeter minus the communes).
        sha256: SHA-256 of every input file (shp, dbf, shx, prj), in a stable order.
    """

    communes: gpd.GeoDataFrame
    changes: gpd.GeoDataFrame
    basin: shapely.Geometry
    sha256: str


@dataclass
class DemoReport:
    """What :func:`build_demo_store` did.

    Attributes:
        store_dir: the store written.
        skipped: the store already held this exact demo (same source hash): nothing was rebuilt.
        n_features: features per millésime.
        area_ha: total area (both millésimes are identical in area).
        artif_ha / desartif_ha: real 2015 -> 2018 (de-)artificialised area inserted.
        seconds: wall-clock time of the call.
        source_sha256: hash of the inputs and parameters stored in the catalogue.
    """

    store_dir: Path
    skipped: bool
    n_features: dict[int, int] = field(default_factory=dict)
    area_ha: float = 0.0
    artif_ha: float = 0.0
    desartif_ha: float = 0.0
    seconds: float = 0.0
    source_sha256: str = ""

    def summary(self) -> str:
        """One French sentence for the CLI."""
        if self.skipped:
            return (f"Démo SYBARVAL déjà présente dans {self.store_dir} (rien à refaire ; "
                    "--force pour reconstruire).")
        counts = ", ".join(f"{year} : {_fr(n)} polygones" for year, n in sorted(self.n_features.items()))
        return (f"Démo SYBARVAL écrite dans {self.store_dir} ({NOTE}) : 17 communes, "
                f"{_fr(self.area_ha)} ha ; {counts} ; artificialisation 2015→2018 "
                f"{_fr(self.artif_ha, 1)} ha, désartificialisation {_fr(self.desartif_ha, 1)} ha "
                f"({self.seconds:.1f} s).")


def _fr(value: float, decimals: int = 0) -> str:
    """French number format: thin spaces between thousands, decimal comma.

    >>> _fr(146514.9) == "146\u202f515", _fr(349.74, 1)
    (True, '349,7')
    """
    return f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")


# --- inputs -------------------------------------------------------------------------------------

def demo_dir() -> Path:
    """Folder of the real demo inputs (``data/demo``)."""
    return get_settings().data_dir / "demo"


def _files_sha256(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in INPUT_FILES:
        for suffix in (".shp", ".shx", ".dbf", ".prj"):
            digest.update(Path(folder / name).with_suffix(suffix).read_bytes())
    return digest.hexdigest()


def load_inputs(folder: Path | None = None) -> DemoInputs:
    """Read and normalise the real SYBARVAL shapefiles.

    Change polygons are repaired with ``make_valid`` (3 are invalid), their codes normalised
    (v1.1 ``US235``, ``INDETERMINE`` -> ``US6.6``), and any overlap between them is given to the
    first polygon in (artificialised, then de-artificialised; file order) order.
    """
    folder = folder or demo_dir()
    communes = gpd.read_file(folder / "Communes_SYBARVAL.shp", encoding="utf-8")
    communes = gpd.GeoDataFrame({
        "code": communes["CODE_INSEE"].astype(str), "name": communes["NOM"].astype(str),
        "artif_2018_ha": communes["A_Brute_20"].astype(float)},
        geometry=communes.geometry.to_numpy(), crs=communes.crs,
    ).sort_values("code", ignore_index=True)
    frames = []
    for origin, name in (("artif", "A_B_2015_2018.shp"), ("desartif", "A_B_2018_2015.shp")):
        raw = gpd.read_file(folder / name, encoding="utf-8")
        frame = pd.DataFrame({"origin": origin, "source_index": np.arange(len(raw))})
        for column in ("cs_2015", "us_2015", "cs_2018", "us_2018"):
            values = raw[column].astype(object)
            missing = values.isna().to_numpy()
            if missing.any():  # 4 + 4 small road pieces lack the codes of one year
                logger.info("demo: %s %s: %d missing codes imputed", name, column, missing.sum())
                values[missing] = MISSING_CODES[column[:2]]
            frame[column] = require_known(values, column[:2], source=name).to_numpy()  # type: ignore[arg-type]
        frames.append(gpd.GeoDataFrame(frame, geometry=raw.geometry.to_numpy(), crs=raw.crs))
    changes = pd.concat(frames, ignore_index=True)
    changes["geometry"] = polygonal_parts(shapely.make_valid(changes.geometry.to_numpy()))
    changes = _remove_overlaps(changes)
    perimeter = gpd.read_file(folder / "SYBARVAL.shp").geometry.iloc[0]
    land = shapely.union_all(communes.geometry.to_numpy())
    water = shapely.get_parts(polygonal_parts(np.array([shapely.difference(
        shapely.make_valid(perimeter), land)]))[0])
    basin = shapely.union_all(water[shapely.area(water) > 1e6])  # drop border slivers
    return DemoInputs(communes, changes, basin, _files_sha256(folder))


def _remove_overlaps(changes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give every overlapping area to the earliest polygon (row order); drop emptied rows."""
    geoms = changes.geometry.to_numpy().copy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    later = left > right
    if later.any():
        overlap = shapely.area(shapely.intersection(geoms[left[later]], geoms[right[later]]))
        for i in np.unique(left[later][overlap > 0]):
            earlier = right[later & (left == i)]
            geoms[i] = polygonal_parts(np.array(
                [shapely.difference(geoms[i], shapely.union_all(geoms[earlier]))]))[0]
        logger.info("demo: %d change polygons overlapped earlier ones", int((overlap > 0).sum()))
    changes = changes.set_geometry(geoms)
    return changes[~shapely.is_empty(geoms)].reset_index(drop=True)


# --- zones --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ZoneGrid:
    """Zone raster over the communes' bounding box (north-up, ``grid_m`` cells).

    Attributes:
        zones: zone code per cell (``OUTSIDE`` … ``SHORE``).
        commune: index of the commune per cell (-1 outside), in ``DemoInputs.communes`` order.
        x0, y0: upper-left corner; cell (r, c) spans x0 + c·g .. x0 + (c+1)·g, y0 − (r+1)·g .. y0 − r·g.
        cell_m: cell size.
        peaks: (17, 2) coordinates of each commune's urban peak.
        texture: smooth field, uniform on [0, 1) per cell, that makes neighbouring polygons draw
            similar classes (forest stands, neighbourhoods).
    """

    zones: np.ndarray
    commune: np.ndarray
    x0: float
    y0: float
    cell_m: float
    peaks: np.ndarray
    texture: np.ndarray


def _rasterize(geoms: Sequence[shapely.Geometry], values: Sequence[int], shape: tuple[int, int],
               transform: object, fill: int) -> np.ndarray:
    return rio_features.rasterize(zip(geoms, values), out_shape=shape, transform=transform,
                                  fill=fill, dtype="int32")


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise, standardised (mean 0, std 1)."""
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    return (noise - noise.mean()) / noise.std()


def build_zones(inputs: DemoInputs, params: DemoParams) -> ZoneGrid:
    """Compute the zone raster (deterministic).

    Urban cores grow from each commune's densest area of real changes (a Gaussian-smoothed map of
    change areas, plus a weak distance-to-peak term and smooth noise) until they reach
    ``artif_2018_ha × urban_ha_per_artif_ha``; a ``fringe_m`` ring surrounds them; fields take the
    ``agri_share`` highest cells of a smooth noise field among the rest; cells within ``shore_m`` of
    the basin are shore; everything else is forest.
    """
    g = params.grid_m
    xmin, ymin, xmax, ymax = inputs.communes.total_bounds
    x0, y0 = np.floor(xmin / g) * g - g, np.ceil(ymax / g) * g + g
    shape = (int(np.ceil((y0 - ymin) / g)) + 1, int(np.ceil((xmax - x0) / g)) + 1)
    transform = Affine(g, 0.0, x0, 0.0, -g, y0)
    commune = _rasterize(inputs.communes.geometry, range(len(inputs.communes)), shape, transform, -1)
    rng = np.random.default_rng([params.seed, 0])

    cx = shapely.get_coordinates(shapely.centroid(inputs.changes.geometry.to_numpy()))
    rows = ((y0 - cx[:, 1]) // g).astype(int)
    cols = ((cx[:, 0] - x0) // g).astype(int)
    density = np.zeros(shape)
    np.add.at(density, (rows, cols), shapely.area(inputs.changes.geometry.to_numpy()))
    density = ndimage.gaussian_filter(density, params.urban_sigma_m / g)
    noise = _smooth_noise(rng, shape, 3.0)
    agri_noise = _smooth_noise(rng, shape, 15.0)
    texture = ndtr(_smooth_noise(rng, shape, params.texture_sigma_m / g))

    zones = np.where(commune >= 0, FOREST, OUTSIDE)
    rr, cc = np.indices(shape)
    peaks = np.zeros((len(inputs.communes), 2))
    for i, target_ha in enumerate(inputs.communes["artif_2018_ha"]):
        inside = commune == i
        local = np.where(inside, density, -np.inf)
        pr, pc = np.unravel_index(np.argmax(local), shape)
        peaks[i] = (x0 + (pc + 0.5) * g, y0 - (pr + 0.5) * g)
        dist = np.hypot(rr - pr, cc - pc) * g
        score = density / max(density[inside].max(), 1e-9) - dist / 20_000 + 0.05 * noise
        n_cells = int(round(target_ha * params.urban_ha_per_artif_ha * 1e4 / g**2))
        order = np.argsort(np.where(inside, -score, np.inf), axis=None, kind="stable")[:n_cells]
        zones.flat[order] = URBAN

    urban = zones == URBAN
    ring = ndimage.binary_dilation(urban, iterations=max(1, int(round(params.fringe_m / g))))
    zones[(ring & ~urban) & (commune >= 0)] = FRINGE
    rural = zones == FOREST
    if rural.any():
        threshold = np.quantile(agri_noise[rural], 1 - params.agri_share)
        zones[rural & (agri_noise >= threshold)] = AGRI
    shore = _rasterize([inputs.basin.buffer(params.shore_m)], [1], shape, transform, 0) == 1
    zones[shore & (commune >= 0) & (zones != URBAN)] = SHORE
    logger.debug("demo zones: %s", {ZONE_NAMES[z]: int((zones == z).sum()) for z in ZONE_NAMES})
    return ZoneGrid(zones.astype(np.int8), commune, float(x0), float(y0), g, peaks, texture)


# --- background ---------------------------------------------------------------------------------

def _seed_points(grid: ZoneGrid, rows: np.ndarray, cols: np.ndarray, rng: np.random.Generator,
                 params: DemoParams) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson seeds in the given raster cells: (n, 2) coordinates, zone and texture value."""
    lam = dict(params.points_per_ha)
    cell_ha = grid.cell_m**2 / 1e4
    zone = grid.zones[rows, cols]
    rate = np.vectorize(lam.get)(zone) * cell_ha
    counts = rng.poisson(rate)
    cell = np.repeat(np.arange(len(rows)), counts)
    offsets = rng.random((len(cell), 2))
    xy = np.column_stack([grid.x0 + (cols[cell] + offsets[:, 0]) * grid.cell_m,
                          grid.y0 - (rows[cell] + offsets[:, 1]) * grid.cell_m])
    return xy, zone[cell], grid.texture[rows[cell], cols[cell]]


def _draw_classes(zone: np.ndarray, texture: np.ndarray, rng: np.random.Generator,
                  jitter: float) -> tuple[np.ndarray, np.ndarray]:
    """Draw one CS×US couple per seed from its zone's distribution.

    The draw is ``u = (texture + jitter · U[0, 1)) mod 1``, uniform on [0, 1) (the texture is
    uniform), looked up in the cumulative probabilities: the zone's proportions hold, and nearby
    seeds (similar texture) tend to get the same couple.
    """
    cs = np.empty(len(zone), dtype=object)
    us = np.empty(len(zone), dtype=object)
    u = np.mod(texture + jitter * rng.random(len(zone)), 1.0)
    for z, table in ZONE_CLASSES.items():
        where = np.flatnonzero(np.where(zone == OUTSIDE, FOREST, zone) == z)
        if not len(where):
            continue
        probs = np.array([p for _, _, p in table])
        edges = np.cumsum(probs / probs.sum())
        pick = np.minimum(np.searchsorted(edges, u[where], side="right"), len(table) - 1)
        cs[where] = np.array([c for c, _, _ in table], dtype=object)[pick]
        us[where] = np.array([u_ for _, u_, _ in table], dtype=object)[pick]
    return cs, us


def _commune_cells(i: int, geometry: shapely.Geometry, grid: ZoneGrid,
                   params: DemoParams, code: str) -> gpd.GeoDataFrame:
    """Voronoi background of one commune, clipped to it (cs, us, geometry)."""
    rng = np.random.default_rng([params.seed, int(code)])
    margin = 3
    rows, cols = np.nonzero(grid.commune == i)
    r0, r1 = max(rows.min() - margin, 0), min(rows.max() + margin, grid.zones.shape[0] - 1)
    c0, c1 = max(cols.min() - margin, 0), min(cols.max() + margin, grid.zones.shape[1] - 1)
    rr, cc = np.mgrid[r0:r1 + 1, c0:c1 + 1]
    xy, zone, texture = _seed_points(grid, rr.ravel(), cc.ravel(), rng, params)
    cs, us = _draw_classes(zone, texture, rng, params.class_jitter)
    envelope = shapely.box(grid.x0 + c0 * grid.cell_m, grid.y0 - (r1 + 1) * grid.cell_m,
                           grid.x0 + (c1 + 1) * grid.cell_m, grid.y0 - r0 * grid.cell_m)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=envelope,
                                                       ordered=True))
    return _clip(gpd.GeoDataFrame({"cs": cs, "us": us}, geometry=cells, crs=2154), geometry)


def _clip(gdf: gpd.GeoDataFrame, geometry: shapely.Geometry) -> gpd.GeoDataFrame:
    """Clip to ``geometry``: features strictly inside are kept as they are (fast path)."""
    geoms = gdf.geometry.to_numpy()
    hits = shapely.STRtree(geoms).query(geometry, predicate="intersects")
    hits.sort()
    kept = geoms[hits]
    shapely.prepare(geometry)
    inside = shapely.contains_properly(geometry, kept)
    kept = kept.copy()
    kept[~inside] = polygonal_parts(shapely.intersection(kept[~inside], geometry))
    out = gdf.iloc[hits].set_geometry(kept)
    return out[~shapely.is_empty(kept)].reset_index(drop=True)


def _subtract(gdf: gpd.GeoDataFrame, cutters: np.ndarray) -> gpd.GeoDataFrame:
    """Remove the union of ``cutters`` from every feature (only intersecting ones are touched)."""
    geoms = gdf.geometry.to_numpy().copy()
    if not len(cutters) or not len(geoms):
        return gdf
    feature, cutter = shapely.STRtree(cutters).query(geoms, predicate="intersects")
    groups = pd.Series(cutter).groupby(feature)
    for i, members in groups:
        index = members.to_numpy()
        knife = cutters[index[0]] if len(index) == 1 else shapely.union_all(cutters[index])
        geoms[i] = shapely.difference(geoms[i], knife)
    geoms = polygonal_parts(geoms)
    out = gdf.set_geometry(geoms)
    return out[~shapely.is_empty(geoms)]


def build_roads(inputs: DemoInputs, grid: ZoneGrid, params: DemoParams) -> np.ndarray:
    """Main roads: minimum spanning tree of the communes' urban peaks, over land only.

    Links crossing more than 5 % of water or foreign land are not allowed. The buffered network is
    cut into ``road_piece_m`` squares so that road polygons have realistic sizes.
    """
    peaks = grid.peaks
    land = shapely.union_all(inputs.communes.geometry.to_numpy())
    shapely.prepare(land)
    n = len(peaks)
    weights = np.zeros((n, n))
    for a in range(n):
        for b in range(a + 1, n):
            line = shapely.LineString([peaks[a], peaks[b]])
            if shapely.length(shapely.intersection(line, land)) >= 0.95 * line.length:
                weights[a, b] = line.length
    tree = minimum_spanning_tree(weights).tocoo()
    lines = [shapely.LineString([peaks[a], peaks[b]]) for a, b in zip(tree.row, tree.col)]
    network = shapely.union_all(shapely.buffer(np.array(lines), params.road_half_width_m,
                                               cap_style="flat"))
    xmin, ymin, xmax, ymax = network.bounds
    step = params.road_piece_m
    xs = np.arange(np.floor(xmin / step) * step, xmax, step)
    ys = np.arange(np.floor(ymin / step) * step, ymax, step)
    squares = shapely.box(*np.meshgrid(xs, ys), *np.meshgrid(xs + step, ys + step)).ravel()
    pieces = polygonal_parts(shapely.intersection(squares, network))
    return pieces[~shapely.is_empty(pieces)]


# --- assembly -----------------------------------------------------------------------------------

def _commune_partition(i: int, inputs: DemoInputs, grid: ZoneGrid, roads: np.ndarray,
                       params: DemoParams) -> gpd.GeoDataFrame:
    """All features of one commune: background, roads and real changes, with both years' codes."""
    code = str(inputs.communes["code"].iloc[i])
    geometry = inputs.communes.geometry.iloc[i]
    cells = _commune_cells(i, geometry, grid, params, code)
    road_gdf = _clip(gpd.GeoDataFrame({"cs": [ROAD_CLASS[0]] * len(roads),
                                       "us": [ROAD_CLASS[1]] * len(roads)},
                                      geometry=roads, crs=2154), geometry)
    background = pd.concat([_subtract(cells, road_gdf.geometry.to_numpy()), road_gdf],
                           ignore_index=True)
    background = background.assign(origin="fond", cs_2015=background["cs"], us_2015=background["us"],
                                   cs_2018=background["cs"], us_2018=background["us"])
    changes = _clip(inputs.changes, geometry)
    background = _subtract(background, changes.geometry.to_numpy())
    columns = ["origin", "cs_2015", "us_2015", "cs_2018", "us_2018", "geometry"]
    merged = pd.concat([background[columns], changes[columns]], ignore_index=True)
    parts = merged.explode(index_parts=False, ignore_index=True)
    parts = parts[shapely.area(parts.geometry.to_numpy()) >= params.min_part_m2]
    parts.insert(0, "id", [f"{code}_{n:06d}" for n in range(1, len(parts) + 1)])
    parts.insert(1, "commune", code)
    return gpd.GeoDataFrame(parts.reset_index(drop=True), geometry="geometry", crs=2154)


def build_demo_partition(communes: Sequence[str] | None = None, params: DemoParams | None = None,
                         inputs: DemoInputs | None = None,
                         progress: Progress | None = None) -> gpd.GeoDataFrame:
    """Build the demo features with both years' codes (no store involved).

    Args:
        communes: INSEE codes to build (default: the 17). A commune's features do not depend on
            this selection.
        params: generator parameters (default :class:`DemoParams`).
        inputs: preloaded inputs (default :func:`load_inputs`).
        progress: ``(fraction, message)`` callback.

    Returns:
        GeoDataFrame (EPSG:2154) with ``id`` (``<INSEE>_<n>``, the same in both years),
        ``commune``, ``origin`` (``fond``, ``artif``, ``desartif``), ``cs_2015``, ``us_2015``,
        ``cs_2018``, ``us_2018`` and single-part polygons that partition each commune.

    Notes:
        About 35,000 features; roughly 10-20 s on one core, dominated by the Voronoi clipping
        and the overlays with the change polygons.
    """
    params = params or DemoParams()
    inputs = inputs or load_inputs()
    wanted = list(inputs.communes["code"]) if communes is None else list(communes)
    unknown = sorted(set(wanted) - set(inputs.communes["code"]))
    if unknown:
        raise ValueError(f"not SYBARVAL communes: {unknown}")
    grid = build_zones(inputs, params)
    roads = build_roads(inputs, grid, params)
    frames = []
    for k, code in enumerate(sorted(wanted)):
        i = int(np.flatnonzero(inputs.communes["code"] == code)[0])
        frames.append(_commune_partition(i, inputs, grid, roads, params))
        if progress:
            progress(0.05 + 0.8 * (k + 1) / len(wanted), f"commune {code}")
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=2154)


def millesime_layer(partition: gpd.GeoDataFrame, year: int) -> gpd.GeoDataFrame:
    """The canonical ``occupation_sol`` layer of one millésime from :func:`build_demo_partition`."""
    if year not in MILLESIMES:
        raise ValueError(f"the demo has millesimes {MILLESIMES}, not {year}")
    return gpd.GeoDataFrame({
        "id": partition["id"].to_numpy(), "code_cs": partition[f"cs_{year}"].to_numpy(),
        "code_us": partition[f"us_{year}"].to_numpy(),
        "millesime": np.full(len(partition), year, dtype=np.int16),
        "departement": DEPARTEMENT}, geometry=partition.geometry.to_numpy(), crs=2154)


# --- store --------------------------------------------------------------------------------------

def _reference_tables() -> dict[str, pd.DataFrame]:
    """Population series (``ref_population``) and the Lyon 2017 -> 2020 aggregates (``ref_lyon_*``)."""
    from ocsge_engine.territories import communes_table

    tables = {"ref_population": communes_table().drop(columns=["has_geometry"]).copy()}
    lyon = get_settings().reference_dir / "lyon_2017_2020"
    for path in sorted(lyon.glob("*.csv")):
        tables[f"ref_lyon_{path.stem}"] = pd.read_csv(path, dtype={"land_id": str,
                                                                   "departement": str})
    return tables


def with_official_status(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``layer`` with each polygon's official artificialisation status (``artif``, ``crit_seuil``).

    The demo's 17 communes stand for the département layer: the decree matrix and thresholds
    run on the whole millésime before any clipping (:func:`official_status`).
    """
    from ocsge_engine.indicators.thresholds import official_status

    status = official_status(layer)
    return layer.assign(artif=status["artif"], crit_seuil=status["crit_seuil"])


def build_demo_store(store_dir: Path | str, force: bool = False,
                     progress: Progress | None = None) -> DemoReport:
    """Build the SYBARVAL demo into a store: ``occupation_sol`` 2015 and 2018 for département 33.

    Args:
        store_dir: the store folder (created if needed).
        force: rebuild even when the store already holds this demo.
        progress: ``(fraction, message)`` callback.

    Returns:
        A :class:`DemoReport`; ``skipped`` when both partitions already carry this source hash.

    Raises:
        StoreError: the store cannot be opened or written.

    Notes:
        The partitions are flagged ``synthetic`` with the note ``"fond synthétique, changements
        réels OCS GE"``; ``source_sha256`` hashes the input shapefiles and :class:`DemoParams`.
        Each partition carries the official artificialisation status of its polygons
        (:func:`with_official_status`).
        Also writes ``ref_population`` and ``ref_lyon_<table>`` reference tables.
    """
    from ocsge_engine.store import Store

    start = time.perf_counter()
    store_dir = Path(store_dir)
    store = Store.open(store_dir, create=True)
    params = DemoParams()
    source_sha = hashlib.sha256(f"{_files_sha256(demo_dir())}:{params.digest()}".encode()).hexdigest()
    catalog = store.catalog()
    present = catalog[(catalog["layer"] == "occupation_sol") & (catalog["departement"] == DEPARTEMENT)
                      & (catalog["source_sha256"] == source_sha)]
    if not force and set(present["millesime"].astype(str)) >= {str(y) for y in MILLESIMES}:
        logger.info("demo already in %s (%s)", store_dir, source_sha[:12])
        return DemoReport(store_dir, skipped=True, source_sha256=source_sha,
                          seconds=time.perf_counter() - start)
    if progress:
        progress(0.02, "lecture des données")
    partition = build_demo_partition(params=params, inputs=load_inputs(), progress=progress)
    report = DemoReport(store_dir, skipped=False, source_sha256=source_sha)
    source_file = "+".join(INPUT_FILES[:3])
    for year in MILLESIMES:
        layer = millesime_layer(partition, year)
        if progress:
            progress(0.85 + 0.05 * (year - MILLESIMES[0]) / (MILLESIMES[1] - MILLESIMES[0]),
                     f"statut artificialisé officiel {year}")
        layer = with_official_status(layer)
        info = store.write_layer(layer, layer="occupation_sol", departement=DEPARTEMENT,
                                 millesime=year, source_file=source_file,
                                 source_sha256=source_sha, synthetic=True, note=NOTE)
        report.n_features[year] = info.n_features
        report.area_ha = info.area_ha
    for name, table in _reference_tables().items():
        store.write_table(name, table)
    areas = shapely.area(partition.geometry.to_numpy()) / 1e4
    report.artif_ha = float(areas[partition["origin"].to_numpy() == "artif"].sum())
    report.desartif_ha = float(areas[partition["origin"].to_numpy() == "desartif"].sum())
    report.seconds = time.perf_counter() - start
    if progress:
        progress(1.0, "terminé")
    logger.info("demo built in %s: %s features in %.1f s", store_dir, report.n_features,
                report.seconds)
    return report
