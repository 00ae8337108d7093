"""The store: partitioned GeoParquet + DuckDB catalogue (see docs/DESIGN.md)."""

from ocsge_engine.store.catalog import PartitionInfo, normalize_departement
from ocsge_engine.store.db import Coverage, Store
from ocsge_engine.store.parquet import LAYER_SCHEMAS, millesime_key

__all__ = ["LAYER_SCHEMAS", "Coverage", "PartitionInfo", "Store", "millesime_key",
           "normalize_departement"]
