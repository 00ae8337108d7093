"""Fixtures of the store tests: a duck-typed territory and real SYBARVAL polygons."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from shapely.geometry.base import BaseGeometry

from ocsge_engine.nomenclature import normalize_codes


@dataclass(frozen=True)
class Terr:
    """Minimal territory: what the store duck-types."""

    geometry: BaseGeometry
    departements: tuple[str, ...] = ("33",)


def tree_hashes(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` (relative path -> digest)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def Territory() -> type[Terr]:  # noqa: N802 - a class handed out as a fixture
    """The duck-typed territory class."""
    return Terr


@pytest.fixture(scope="session")
def hash_tree():
    """``hash_tree(root)`` -> {relative path: sha256} of every file under root."""
    return tree_hashes


@pytest.fixture(scope="session")
def sybarval_changes(shared_data: Path) -> gpd.GeoDataFrame:
    """A_B_2015_2018 as a canonical ``occupation_sol`` 2018 layer (repaired geometries)."""
    raw = gpd.read_file(shared_data / "ocsge_sybarval_2015_2018" / "A_B_2015_2018.shp")
    return gpd.GeoDataFrame({
        "id": [f"AB{i:05d}" for i in range(len(raw))],
        "code_cs": normalize_codes(raw["cs_2018"], "cs"),
        "code_us": normalize_codes(raw["us_2018"], "us"),
        "millesime": 2018,
        "departement": "33",
    }, geometry=shapely.make_valid(raw.geometry.to_numpy()), crs="EPSG:2154")


@pytest.fixture(scope="session")
def sybarval_communes(shared_data: Path) -> gpd.GeoDataFrame:
    """The 17 SYBARVAL communes with their ground-truth columns, in EPSG:2154."""
    communes = gpd.read_file(shared_data / "ocsge_sybarval_2015_2018" / "Communes_SYBARVAL.shp")
    return communes.set_crs("EPSG:2154", allow_override=True)
