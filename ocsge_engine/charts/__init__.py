"""Presentation of flows: plotly figures (French text, official colours) and static export.

Each chart is a pure function ``(data, options) -> go.Figure``; nothing here reads the store.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocsge_engine.charts.export import (
        ExportError,
        figure_bytes,
        matrix_json,
        matrix_record,
        matrix_xlsx,
        read_flows_xlsx,
        table_csv,
    )
    from ocsge_engine.charts.heatmap import matrix_heatmap
    from ocsge_engine.charts.sankey import grouped_flows, sankey_figure
    from ocsge_engine.charts.stocks import net_flux_bars, stock_bars, stock_donut

# Names resolve on first use (PEP 562), so that ``charts.export`` (CSV/JSON of the CLI's
# ``flows``) does not pay for plotly.
_HOMES = {
    "ExportError": "export", "figure_bytes": "export", "matrix_json": "export",
    "matrix_record": "export", "matrix_xlsx": "export", "read_flows_xlsx": "export",
    "table_csv": "export", "matrix_heatmap": "heatmap", "grouped_flows": "sankey",
    "sankey_figure": "sankey", "net_flux_bars": "stocks", "stock_bars": "stocks",
    "stock_donut": "stocks",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"ocsge_engine.charts.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'ocsge_engine.charts' has no attribute {name!r}")


__all__ = [
    "ExportError", "figure_bytes", "grouped_flows", "matrix_heatmap", "matrix_json",
    "matrix_record", "matrix_xlsx", "net_flux_bars", "read_flows_xlsx", "sankey_figure",
    "stock_bars", "stock_donut", "table_csv",
]
