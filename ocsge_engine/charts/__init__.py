"""Presentation of flows: plotly figures (French text, official colours) and static export.

Each chart is a pure function ``(data, options) -> go.Figure``; nothing here reads the store.
"""

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

__all__ = [
    "ExportError", "figure_bytes", "grouped_flows", "matrix_heatmap", "matrix_json",
    "matrix_record", "matrix_xlsx", "net_flux_bars", "read_flows_xlsx", "sankey_figure",
    "stock_bars", "stock_donut", "table_csv",
]
