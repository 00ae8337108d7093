"""Exact, code-free serialisation of the engine's result objects (precomputed page figures).

The national batch stores, per commune and millésime pair, the very objects the pages read
(:class:`~ocsge_engine.portrait.PortraitFigures`, exchange matrices, indicators, light map
layers), so that a page reads them instead of recomputing. :func:`dumps` turns such an object
into UTF-8 JSON and :func:`loads` rebuilds an equal object:

* floats are written with ``repr`` precision (JSON round trip is exact; NaN and infinities kept);
* ``DataFrame`` / ``Series`` travel as Arrow IPC bytes, ``GeoDataFrame`` as GeoParquet bytes
  (dtypes, index and CRS kept), base64 in the JSON (Parquet payloads of older batches are read);
  a ``GeoDataFrame`` whose coordinates lie on a 1e-5 or 1e-6 grid (the rounded light map layers)
  has them stored as delta-coded integers instead of WKB doubles (about 3 times smaller, used
  only when the round trip is checked to be bit for bit);
* numpy arrays keep their dtype; arrays of shapely geometries travel as WKB (exact coordinates);
* dataclasses are rebuilt **only** when they are defined in an ``ocsge_engine`` module (an
  allow-list by module name): nothing in a stored file can make the reader run other code, unlike
  pickle.

Dict keys keep their type (``{2015: 0.99}`` comes back with an ``int`` key).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import importlib
import io
import json
import math
import zlib
from typing import Any

import numpy as np
import pandas as pd

_PACKAGE = "ocsge_engine."


class CodecError(ValueError):
    """An object the codec cannot write, or a payload it refuses to read."""


def _parquet_bytes(frame: pd.DataFrame) -> dict[str, Any]:
    """Frame bytes (base64) and the object-dtype columns Parquet would turn into strings.

    GeoDataFrames (and frames with ``attrs``) travel as GeoParquet / Parquet; other frames as
    an Arrow IPC stream (``ipc``), the same Arrow table ``to_parquet`` writes, read back 2-5×
    faster (a stored ``indicators`` object holds ~30 small frames).
    """
    import pyarrow as pa

    objects = [str(c) for c in frame.columns if frame[c].dtype == object
               and c != getattr(frame, "_geometry_column_name", None)]
    meta = {"objects": objects, "object_index": bool(frame.index.dtype == object)}
    if not isinstance(frame, _geodataframe_type()) and not frame.attrs:
        table = pa.Table.from_pandas(frame)  # as DataFrame.to_parquet builds it
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema,
                               options=pa.ipc.IpcWriteOptions(compression="zstd")) as writer:
            writer.write_table(table)
        return {"ipc": base64.b64encode(sink.getvalue().to_pybytes()).decode("ascii"), **meta}
    buf = io.BytesIO()
    frame.to_parquet(buf, compression="zstd")
    return {"parquet": base64.b64encode(buf.getvalue()).decode("ascii"), **meta}


def _geodataframe_type() -> type:
    import geopandas as gpd

    return gpd.GeoDataFrame  # type: ignore[no-any-return]


def _ipc_frame(raw: bytes) -> pd.DataFrame:
    """The frame of an Arrow IPC payload, converted as ``pandas.read_parquet`` converts."""
    import pyarrow as pa

    table = pa.ipc.open_stream(raw).read_all()
    try:
        from pandas.io._util import arrow_table_to_pandas
    except ImportError:  # another pandas: Arrow's own conversion
        return table.to_pandas()
    return arrow_table_to_pandas(table)


def _frame(data: dict[str, Any], geo: bool) -> pd.DataFrame:
    if "ipc" in data:
        frame = _ipc_frame(base64.b64decode(data["ipc"]))
    elif geo:
        frame = _geo_frame(io.BytesIO(base64.b64decode(data["parquet"])))
    else:
        frame = pd.read_parquet(io.BytesIO(base64.b64decode(data["parquet"])))
    for column in data["objects"]:
        frame[column] = frame[column].astype(object)
    if data["object_index"]:
        frame.index = frame.index.astype(object)
    return frame


# --- GeoDataFrames whose coordinates lie on a decimal grid (light map layers) -----------------
# Map layers are rounded to 1e-5 degree (maps.simplify.COORD_DECIMALS): their coordinates are
# stored as integer steps of the grid, delta-coded and zlib-compressed (about 3 times smaller
# than WKB doubles), geometry types and ring/part offsets as in shapely's ragged arrays. Only
# used when decoding gives back every coordinate bit for bit (checked here), else WKB.
GRID_DECIMALS: tuple[int, ...] = (5, 6)


def _b64z(array: np.ndarray) -> str:
    return base64.b64encode(zlib.compress(np.ascontiguousarray(array).tobytes(), 6)).decode("ascii")


def _unb64z(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype=np.dtype(dtype))


def _grid_geometries(frame: Any) -> dict[str, Any] | None:
    """The grid encoding of a GeoDataFrame, or ``None`` when it would not round-trip exactly."""
    import shapely

    geoms = frame.geometry.to_numpy()
    if (not len(geoms) or frame.crs is None or frame.index.dtype == object
            or sum(str(dtype) == "geometry" for dtype in frame.dtypes) != 1):
        return None
    try:
        kind, coords, offsets = shapely.to_ragged_array(geoms)
    except (ValueError, TypeError, shapely.errors.GEOSException):
        return None  # missing, empty or mixed geometries: WKB
    if coords.ndim != 2 or coords.shape[1] != 2 or not np.isfinite(coords).all():
        return None
    for decimals in GRID_DECIMALS:
        scale = 10.0 ** decimals
        steps = np.rint(coords * scale)
        if np.abs(steps).max(initial=0.0) >= 2**31 or not np.array_equal(steps / scale, coords):
            continue
        deltas = np.diff(steps.astype(np.int64), axis=0, prepend=0)
        if np.abs(deltas).max(initial=0) >= 2**31:
            continue
        data = {"decimals": decimals, "type": int(kind), "n": int(len(coords)),
                "coords": _b64z(deltas.T.astype("<i4")),
                "offsets": [_b64z(np.diff(o).astype("<i4")) for o in offsets]}
        if not np.array_equal(shapely.to_wkb(_grid_geoms(data)), shapely.to_wkb(geoms)):
            return None  # e.g. Polygons promoted to MultiPolygons, None to empty: WKB
        attrs = frame.drop(columns=frame.geometry.name)
        return {"attrs": _parquet_bytes(pd.DataFrame(attrs)), "geometry": frame.geometry.name,
                "columns": [str(c) for c in frame.columns], "crs": frame.crs.to_json(), **data}
    return None


def _grid_frame(data: dict[str, Any]) -> Any:
    import geopandas as gpd

    attrs = _frame(data["attrs"], geo=False)
    out = gpd.GeoDataFrame(attrs, geometry=_grid_geoms(data), crs=_crs(data["crs"]))
    out = out.rename_geometry(data["geometry"]) if data["geometry"] != "geometry" else out
    return out[data["columns"]]


def _grid_geoms(data: dict[str, Any]) -> np.ndarray:
    import shapely

    n = data["n"]
    steps = np.cumsum(_unb64z(data["coords"], "<i4").astype(np.int64).reshape(2, n), axis=1)
    coords = np.ascontiguousarray(steps.T) / 10.0 ** data["decimals"]
    offsets = tuple(np.concatenate([[0], np.cumsum(_unb64z(o, "<i4").astype(np.int64))])
                    for o in data["offsets"])
    return shapely.from_ragged_array(shapely.GeometryType(data["type"]), coords, offsets)


def _geo_frame(raw: io.BytesIO) -> pd.DataFrame:
    """``geopandas.read_parquet`` of a codec payload, with the CRS parsed once per process.

    geopandas builds a ``pyproj.CRS`` from the file's PROJJSON on every read (50-150 ms, most
    of a light map layer's decoding); the same CRS comes back here from :func:`_crs`. Anything
    but one WKB geometry column without frame attributes goes through geopandas unchanged.
    """
    import geopandas as gpd
    import pyarrow.parquet as pq

    table = pq.read_table(raw)
    metadata = table.schema.metadata or {}
    geo = json.loads(metadata[b"geo"]) if b"geo" in metadata else None
    if (geo is None or b"PANDAS_ATTRS" in metadata or len(geo.get("columns", {})) != 1
            or geo.get("primary_column") not in table.column_names
            or geo["columns"][geo["primary_column"]].get("encoding") != "WKB"):
        raw.seek(0)
        return gpd.read_parquet(raw)
    name = geo["primary_column"]
    order = list(table.slice(0, 0).to_pandas().columns)
    frame = table.drop([name]).to_pandas()
    crs = _crs(json.dumps(geo["columns"][name].get("crs", "OGC:CRS84"), sort_keys=True))
    frame.insert(order.index(name), name, gpd.array.from_wkb(np.array(table[name]), crs=crs))
    return gpd.GeoDataFrame(frame, geometry=name)


@functools.lru_cache(maxsize=16)
def _crs(text: str) -> Any:
    """The ``pyproj.CRS`` of a GeoParquet ``crs`` entry (JSON text), as geopandas builds it."""
    from geopandas.io.arrow import _remove_id_from_member_of_ensembles
    from pyproj import CRS

    crs = json.loads(text)
    if isinstance(crs, dict):
        _remove_id_from_member_of_ensembles(crs)
    return CRS.from_user_input(crs)


def encode(obj: Any) -> Any:
    """JSON-ready structure of ``obj`` (see the module docstring for what is supported)."""
    import geopandas as gpd
    import shapely

    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, np.bool_):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v) for v in obj]}
    if isinstance(obj, list):
        return [encode(v) for v in obj]
    if isinstance(obj, (dict,)):
        return {"__dict__": [[encode(k), encode(v)] for k, v in obj.items()]}
    if isinstance(obj, (set, frozenset)):
        return {"__set__": [encode(v) for v in sorted(obj, key=repr)],
                "frozen": isinstance(obj, frozenset)}
    if isinstance(obj, gpd.GeoDataFrame):
        grid = _grid_geometries(obj)
        return {"__gdf__": _parquet_bytes(obj)} if grid is None else {"__gdfgrid__": grid}
    if isinstance(obj, pd.DataFrame):
        return {"__df__": _parquet_bytes(obj)}
    if isinstance(obj, pd.Series):
        name = obj.name
        frame = obj.to_frame("__values__")
        return {"__series__": _parquet_bytes(frame), "name": encode(name)}
    if isinstance(obj, np.ndarray):
        if obj.dtype == object and obj.size and all(
                isinstance(v, shapely.Geometry) or v is None for v in obj.ravel()):
            wkb = shapely.to_wkb(obj, hex=True)
            return {"__geoms__": [None if w is None else str(w) for w in wkb.ravel()],
                    "shape": list(obj.shape)}
        if obj.dtype == object:
            return {"__ndobj__": [encode(v) for v in obj.ravel().tolist()],
                    "shape": list(obj.shape)}
        return {"__nd__": base64.b64encode(np.ascontiguousarray(obj).tobytes()).decode("ascii"),
                "dtype": obj.dtype.str, "shape": list(obj.shape)}
    if isinstance(obj, shapely.Geometry):
        return {"__geom__": shapely.to_wkb(obj, hex=True)}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        cls = type(obj)
        if not cls.__module__.startswith(_PACKAGE):
            raise CodecError(f"dataclass {cls.__module__}.{cls.__qualname__} is not an engine type")
        return {"__dc__": f"{cls.__module__}:{cls.__qualname__}",
                "fields": {f.name: encode(getattr(obj, f.name))
                           for f in dataclasses.fields(obj) if f.init}}
    raise CodecError(f"cannot encode {type(obj).__module__}.{type(obj).__qualname__}")


def decode(data: Any) -> Any:
    """Inverse of :func:`encode`.

    Raises:
        CodecError: a dataclass outside ``ocsge_engine`` or an unknown tag.
    """
    import shapely

    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        raise CodecError(f"unexpected {type(data).__name__} in a payload")
    if "__float__" in data:
        return float(data["__float__"])
    if "__tuple__" in data:
        return tuple(decode(v) for v in data["__tuple__"])
    if "__dict__" in data:
        return {_hashable(decode(k)): decode(v) for k, v in data["__dict__"]}
    if "__set__" in data:
        values = {_hashable(decode(v)) for v in data["__set__"]}
        return frozenset(values) if data.get("frozen") else values
    if "__gdf__" in data:
        return _frame(data["__gdf__"], geo=True)
    if "__gdfgrid__" in data:
        return _grid_frame(data["__gdfgrid__"])
    if "__df__" in data:
        return _frame(data["__df__"], geo=False)
    if "__series__" in data:
        return _frame(data["__series__"], geo=False)["__values__"].rename(decode(data["name"]))
    if "__geoms__" in data:
        wkb = np.asarray(data["__geoms__"], dtype=object)
        return np.asarray(shapely.from_wkb(wkb), dtype=object).reshape(data["shape"])
    if "__ndobj__" in data:
        out = np.empty(len(data["__ndobj__"]), dtype=object)
        out[:] = [decode(v) for v in data["__ndobj__"]]
        return out.reshape(data["shape"])
    if "__nd__" in data:
        raw = base64.b64decode(data["__nd__"])
        return np.frombuffer(raw, dtype=np.dtype(data["dtype"])).reshape(data["shape"]).copy()
    if "__geom__" in data:
        return shapely.from_wkb(data["__geom__"])
    if "__dc__" in data:
        return _dataclass(data["__dc__"], data["fields"])
    raise CodecError(f"unknown payload tag {sorted(data)[:3]}")


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _dataclass(name: str, fields: dict[str, Any]) -> Any:
    module_name, _, qualname = name.partition(":")
    if not module_name.startswith(_PACKAGE) or "." in qualname:
        raise CodecError(f"refused type {name!r}: only ocsge_engine dataclasses are rebuilt")
    cls = getattr(importlib.import_module(module_name), qualname, None)
    if cls is None or not dataclasses.is_dataclass(cls):
        raise CodecError(f"{name!r} is not an engine dataclass")
    return cls(**{k: decode(v) for k, v in fields.items()})


def dumps(obj: Any) -> str:
    """JSON text of ``obj`` (:func:`encode`)."""
    return json.dumps(encode(obj), separators=(",", ":"), allow_nan=False)


def loads(text: str) -> Any:
    """Object of a :func:`dumps` text."""
    return decode(json.loads(text))
