"""Static SVG first views of the dashboard's charts, drawn from the same plotly figure.

A page shows each chart first as this SVG, in an image, and the interactive plotly chart one
toggle away: the browser then draws the page without evaluating plotly.js and laying out every
chart with it (0.3–0.9 s less per chart page opened by a link on a 2-core machine, measured in
``docs/benchmarks.md``). The SVG is drawn from the very figure the interactive view and the
PNG/SVG exports use, so it shows the same numbers, French labels and colours. Each mark carries
its raw value (``data-value``) and its figure's hover text (the ``hovertemplate``, evaluated here
with French number formats) as an SVG ``<title>``: a tooltip where the SVG is opened on its own;
in a page, hover and zoom are the interactive chart's.

Supported: one ``Pie`` (donut), one ``Sankey``, one ``Heatmap`` of at most
:data:`MAX_HEATMAP_CELLS` cells, and ``Bar`` and ``Scatter`` traces (lines, markers, text) on
categories or numbers: grouped, stacked or relative bars, rect and line shapes with their
annotations, panels side by side (one row of subplots) and a second y axis for lines.
:func:`figure_svg` returns ``None`` for anything else (rows of subplots, bars on a second axis,
filled areas, treemaps, large rasters): the page then draws the interactive chart at once.

Every text is escaped: labels come from data (codes kept with ``--allow-unknown``). A page shows
the view as an image (:func:`figure_img`): the SVG never joins the page's DOM, and nothing in it
can run.
"""

from __future__ import annotations

import base64
import html
import logging
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import plotly.colors as pcolors
import plotly.graph_objects as go

from ocsge_engine import fmt

logger = logging.getLogger(__name__)

WIDTH = 760  # logical width (viewBox) of a cartesian chart or a Sankey
PIE_WIDTH, PIE_HEIGHT = 560, 360
HEIGHT = 450  # plotly's default figure height
# narrower screens scroll a chart sideways rather than shrink its text past ~9 px (a phone);
# a donut fits a half column of a desktop page
MIN_WIDTH_PX = {"pie": 360, "xy": 560, "sankey": 560, "heatmap": 560}
MAX_SCALE = 1.3  # a chart is drawn at most 1.3 times its logical size (wide screens)
MAX_HEATMAP_CELLS = 2_500
HEAT_LABEL_CHARS = 34  # characters of a rotated column label (the whole label in its tooltip)
FONT = "Marianne, Arial, sans-serif"
TEXT = "#161616"
MUTED = "#555555"
GRID = "#E5E5E5"
TICK_SIZE = 11
DEFAULT_COLORS = pcolors.qualitative.Plotly
_FIELD = re.compile(r"%\{([^}:]+)(?::([^}]*))?\}")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPEC = re.compile(r"^,?(?:\.(\d+))?([f%])?$")
_AXIS_N = re.compile(r"^[xy]axis\d+$")


def figure_img(fig: go.Figure) -> str | None:
    """The static view of ``fig`` as an HTML fragment for a page, or ``None`` (not supported).

    The SVG of :func:`figure_svg` in an ``<img>`` (a ``data:`` URI): the browser draws it as one
    image, without a DOM node per mark (cheaper to lay out than inline SVG), and nothing in it
    can run or reach the page's DOM, whatever text the data holds. ``alt`` is the chart's title.
    """
    drawn = _render(fig)
    if drawn is None:
        return None
    kind, svg = drawn
    width = PIE_WIDTH if kind == "pie" else WIDTH
    label = " ".join(_title(fig, width)[0])
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    max_width = width * MAX_SCALE
    return (f'<div class="ocsge-chart-box" style="overflow-x:auto">'
            f'<img class="ocsge-chart" data-kind="{kind}" alt="{_esc(label)}" '
            f'src="data:image/svg+xml;base64,{data}" '
            f'style="display:block;width:100%;height:auto;object-fit:contain;'
            f'min-width:{MIN_WIDTH_PX[kind]:g}px;'
            f'max-width:{max_width:g}px"/></div>')


def figure_svg(fig: go.Figure) -> str | None:
    """The static SVG view of ``fig`` (a standalone SVG document), or ``None`` when it is not
    supported.

    A figure the renderer cannot draw faithfully returns ``None`` (logged), never a wrong chart.
    """
    drawn = _render(fig)
    return None if drawn is None else drawn[1]


def _render(fig: go.Figure) -> tuple[str, str] | None:
    """``(kind, SVG)`` of ``fig``, or ``None`` (not supported, or failed: logged)."""
    kind = _kind(fig)
    if kind is None:
        return None
    try:
        svg = {"pie": _pie, "sankey": _sankey, "heatmap": _heatmap, "xy": _cartesian}[kind](fig)
    except Exception:  # noqa: BLE001 - the interactive chart is always there to fall back on
        logger.warning("no static view for the chart %r: the interactive chart is drawn",
                       _plain(_title_text(fig)), exc_info=True)
        return None
    return None if svg is None else (kind, svg)


def _kind(fig: go.Figure) -> str | None:
    types = [t.type for t in fig.data]
    if not types:
        return None
    if types == ["pie"]:
        return "pie"
    if types == ["sankey"]:
        return "sankey"
    several_axes = any(_AXIS_N.match(k) for k in fig.layout.to_plotly_json())
    if types == ["heatmap"] and not several_axes:
        z = np.asarray(fig.data[0].z, dtype=float)
        return "heatmap" if z.ndim == 2 and z.size <= MAX_HEATMAP_CELLS else None
    if set(types) <= {"bar", "scatter"}:
        if any(t.type == "scatter" and t.fill not in (None, "none") for t in fig.data):
            return None
        return "xy"
    return None


# -- text ------------------------------------------------------------------------------------------

def _esc(text: object) -> str:
    """Text or attribute value escaped, newlines as character references: the SVG stays one
    line of HTML (a page's markdown block ends at a blank line)."""
    return html.escape(str(text), quote=True).replace("\n", "&#10;").replace("\r", "&#13;")


def _plain(text: object) -> str:
    """Plotly rich text as plain lines: ``<br>`` → newline, other tags dropped."""
    if text is None:
        return ""
    parts = _BREAK.split(str(text))
    return "\n".join(html.unescape(_TAG.sub("", p)) for p in parts)


def _lines(text: object) -> list[str]:
    return _plain(text).split("\n")


def text_width(text: str, size: float) -> float:
    """Approximate rendered width (px) of ``text`` in a sans-serif font of ``size`` px."""
    width = 0.0
    for ch in text:
        if ch in " .,;:!|'ilItfj\u202f\u00a0()[]":
            width += 0.3
        elif ch.isupper() or ch in "mwMW%@":
            width += 0.68
        elif ch.isdigit():
            width += 0.56
        else:
            width += 0.52
    return width * size


def _wrap(text: str, size: float, max_px: float, max_lines: int = 4) -> list[str]:
    """Lines of ``text`` (its own ``<br>`` kept) no wider than ``max_px``, words never split."""
    out: list[str] = []
    for line in _lines(text):
        current = ""
        for word in line.split(" "):
            trial = f"{current} {word}" if current else word
            if current and text_width(trial, size) > max_px:
                out.append(current)
                current = word
            else:
                current = trial
        out.append(current)
    if len(out) > max_lines:
        out = out[:max_lines]
        out[-1] = out[-1].rstrip(" ,;") + "…"
    return out


def _text(x: float, y: float, lines: Sequence[str], *, size: float = TICK_SIZE,
          anchor: str = "start", fill: str = TEXT, weight: str | None = None,
          css: str | None = None, rotate: float | None = None, halo: bool = False,
          valign: str = "baseline", tip: str = "") -> str:
    """An SVG ``<text>`` of one or more lines (``valign``: where ``y`` is: first baseline,
    middle of the block, or its top)."""
    step = size * 1.2
    if valign == "middle":
        y0 = y - (len(lines) - 1) * step / 2 + size * 0.35
    elif valign == "top":
        y0 = y + size * 0.9
    elif valign == "bottom":
        y0 = y - (len(lines) - 1) * step
    else:
        y0 = y
    attrs = [f'x="{x:.1f}"', f'y="{y0:.1f}"', f'font-size="{size:g}"', f'fill="{fill}"']
    if anchor != "start":
        attrs.append(f'text-anchor="{anchor}"')
    if weight:
        attrs.append(f'font-weight="{weight}"')
    if css:
        attrs.append(f'class="{css}"')
    if rotate is not None:
        attrs.append(f'transform="rotate({rotate:g} {x:.1f} {y0:.1f})"')
    if halo:  # one style: the stroke never goes without paint-order (it would hide the text)
        attrs.append('style="paint-order:stroke;stroke:white;stroke-width:3px;'
                     'stroke-linejoin:round"')
    if len(lines) == 1:
        return f"<text {' '.join(attrs)}>{_tip(tip)}{_esc(lines[0])}</text>"
    spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if k == 0 else step:.1f}">{_esc(line)}</tspan>'
                    for k, line in enumerate(lines))
    return f"<text {' '.join(attrs)}>{_tip(tip)}{spans}</text>"


def _shorten(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:chars - 1].rstrip(" ,(") + "…"


def _tip(text: str) -> str:
    return f"<title>{_esc(text)}</title>" if text else ""


# -- numbers and hover templates -------------------------------------------------------------------

def _number(value: Any, spec: str | None = None) -> str:
    """A value formatted as plotly would with ``spec`` (d3 subset: ``,.2f``, ``.1%``), in French."""
    if value is None or isinstance(value, str):
        return fmt.MISSING if value is None else value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return fmt.MISSING
    match = _SPEC.match(spec or "")
    if spec and match:
        decimals = int(match.group(1)) if match.group(1) is not None else None
        if match.group(2) == "%":
            return fmt.percent(number, 0 if decimals is None else decimals)
        return fmt.number(number, 2 if decimals is None else decimals)
    if number.is_integer():
        # years and counts: « 2018 », not « 2 018 »; large amounts keep their separators
        return str(int(number)) if abs(number) < 10_000 else fmt.number(number, 0)
    return fmt.number(number, 2)


def _lookup(point: dict[str, Any], name: str) -> Any:
    name = name.strip()
    match = re.match(r"^(\w+(?:\.\w+)?)\[(\d+)\]$", name)
    if match:
        value = point.get(match.group(1))
        try:
            return value[int(match.group(2))]  # type: ignore[index]
        except (TypeError, IndexError, KeyError):
            return None
    return point.get(name)


def hover_text(template: str | None, point: dict[str, Any], default: str = "") -> str:
    """The plain-text hover of a point: the figure's ``hovertemplate`` evaluated in French.

    >>> hover_text("%{y}<br>%{x:,.2f} ha<extra></extra>", {"x": 1234.5, "y": "Bâti"})
    'Bâti\\n1\\u202f234,50 ha'
    """
    if not template:
        return default
    template = re.sub(r"<extra>.*?</extra>", "", str(template), flags=re.S)

    def field(match: re.Match[str]) -> str:
        name, spec = match.group(1).strip(), match.group(2)
        if name == "percent" and not spec:
            spec = ".1%"  # plotly's own default for a pie's share
        return _number(_lookup(point, name), spec)

    return _plain(_FIELD.sub(field, template)).strip()


def _at(values: Any, k: int) -> Any:
    """``values[k]`` of a plotly per-point property, or the scalar itself."""
    if values is None or isinstance(values, str):
        return values
    try:
        return values[k]
    except (TypeError, IndexError, KeyError):
        return None


def _color(value: Any, default: str) -> str:
    return str(value) if isinstance(value, str) and value else default


def _luminance(color: str) -> float:
    try:
        if color.startswith("#"):
            r, g, b = pcolors.hex_to_rgb(color)
        else:
            r, g, b = (float(v) for v in re.findall(r"[\d.]+", color)[:3])
    except (ValueError, TypeError):
        return 1.0
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255


# -- document --------------------------------------------------------------------------------------

def _title_text(fig: go.Figure) -> str:
    title = fig.layout.title
    return str(title.text) if title is not None and title.text else ""


def _title(fig: go.Figure, width: float) -> tuple[list[str], float]:
    """The title's lines and the height they take (with the space under them)."""
    text = _title_text(fig)
    if not text:
        return [], 10.0
    lines = _wrap(text, 16, width - 20, max_lines=3)
    return lines, 14 + 19.2 * len(lines)


def _document(fig: go.Figure, body: list[str], width: float, height: float, kind: str) -> str:
    lines, _ = _title(fig, width)
    label = " ".join(lines)
    title = _text(10, 10, lines, size=16, valign="top", css="chart-title") if lines else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="ocsge-chart" data-kind="{kind}" '
            f'width="{width:g}" height="{height:.0f}" viewBox="0 0 {width:g} {height:.0f}" '
            f'role="img" aria-label="{_esc(label)}" font-family="{FONT}">'
            f'<title>{_esc(label)}</title><rect width="100%" height="100%" fill="white"/>'
            f"{title}{''.join(body)}</svg>")


# -- donut -----------------------------------------------------------------------------------------

def _pie(fig: go.Figure) -> str | None:
    trace = fig.data[0]
    values = [float(v) for v in (trace.values if trace.values is not None else [])]
    labels = [str(v) for v in (trace.labels if trace.labels is not None else [])]
    total = math.fsum(v for v in values if v > 0)
    if not values or total <= 0:
        return None
    colors = list(trace.marker.colors) if trace.marker.colors is not None else []
    width, height = PIE_WIDTH, PIE_HEIGHT
    _, top = _title(fig, width)
    hole = float(trace.hole or 0.0)
    radius = min(150.0, (height - top - 16) / 2)
    cx, cy = 18 + radius, top + 6 + radius
    slices = [(k, label, value, _color(_at(colors, k), DEFAULT_COLORS[k % len(DEFAULT_COLORS)]))
              for k, (label, value) in enumerate(zip(labels, values)) if value > 0]
    body = []
    angle = 0.0  # plotly: first slice at 12 o'clock, then counterclockwise
    for k, label, value, color in slices:
        share = value / total
        start, end = angle, angle + 2 * math.pi * share
        angle = end
        point = {"label": label, "value": value, "percent": share,
                 "customdata": _at(trace.customdata, k), "text": _at(trace.text, k)}
        tip = hover_text(trace.hovertemplate, point,
                         f"{label}\n{_number(value)}\n{fmt.percent(share)}")
        path = _ring(cx, cy, radius, radius * hole, start, end)
        body.append(f'<path d="{path}" fill="{_esc(color)}" stroke="white" stroke-width="1" '
                    f'data-label="{_esc(label)}" data-value="{value!r}">{_tip(tip)}</path>')
        if end - start > 0.3:  # room for the percentage inside the slice
            mid = (start + end) / 2
            r_text = radius * (1 + hole) / 2
            tx, ty = cx - r_text * math.sin(mid), cy - r_text * math.cos(mid)
            shown = hover_text(trace.texttemplate, point) if trace.texttemplate else \
                fmt.percent(share)
            ink = TEXT if _luminance(color) > 0.55 else "white"
            body.append(_text(tx, ty, [shown], size=12, anchor="middle", fill=ink,
                              valign="middle"))
    # legend on the right, as plotly's
    x_legend = cx + radius + 28
    y = top + 10
    for _, label, _, color in slices:
        lines = _wrap(label, 12, width - x_legend - 26, max_lines=3)
        body.append(f'<rect x="{x_legend:.1f}" y="{y:.1f}" width="12" height="12" '
                    f'fill="{_esc(color)}"/>')
        body.append(_text(x_legend + 18, y, lines, size=12, valign="top"))
        y += 14.4 * len(lines) + 6
    return _document(fig, body, width, max(height, y + 6), "pie")


def _ring(cx: float, cy: float, r: float, r_in: float, a0: float, a1: float) -> str:
    """Path of a ring sector between angles ``a0`` and ``a1`` (radians, counterclockwise from
    12 o'clock)."""
    if a1 - a0 >= 2 * math.pi - 1e-9:
        a1 = a0 + 2 * math.pi - 1e-6

    def at(radius: float, a: float) -> str:
        return f"{cx - radius * math.sin(a):.2f} {cy - radius * math.cos(a):.2f}"

    large = 1 if a1 - a0 > math.pi else 0
    outer = f"M {at(r, a0)} A {r:.2f} {r:.2f} 0 {large} 0 {at(r, a1)}"
    if r_in <= 0:
        return f"{outer} L {cx:.2f} {cy:.2f} Z"
    return f"{outer} L {at(r_in, a1)} A {r_in:.2f} {r_in:.2f} 0 {large} 1 {at(r_in, a0)} Z"


# -- Sankey ----------------------------------------------------------------------------------------

def _sankey(fig: go.Figure) -> str | None:
    trace = fig.data[0]
    node, link = trace.node, trace.link
    labels = [str(v) for v in (node.label or [])]
    sources = [int(v) for v in (link.source if link.source is not None else [])]
    targets = [int(v) for v in (link.target if link.target is not None else [])]
    values = [float(v) for v in (link.value if link.value is not None else [])]
    if not labels or not values:
        return None
    n = len(labels)
    inflow, outflow = [0.0] * n, [0.0] * n
    for s, t, v in zip(sources, targets, values):
        outflow[s] += v
        inflow[t] += v
    size = [max(a, b) for a, b in zip(inflow, outflow)]
    column = [0] * n  # longest path from a source node
    for _ in range(n):
        changed = False
        for s, t in zip(sources, targets):
            if column[t] < column[s] + 1:
                column[t] = column[s] + 1
                changed = True
        if not changed:
            break
    shown = [k for k in range(n) if size[k] > 0]
    n_cols = max(column[k] for k in shown) + 1
    width = WIDTH
    height = float(fig.layout.height or HEIGHT)
    _, top = _title(fig, width)
    bottom = height - 12
    # at least a label's line between two nodes (plotly overlaps them on tall columns)
    pad = max(float(node.pad if node.pad is not None else 12), 15.0)
    thick = float(node.thickness or 16)
    per_col = {c: [k for k in shown if column[k] == c] for c in range(n_cols)}
    scale = min((bottom - top - pad * (len(ks) - 1)) / max(math.fsum(size[k] for k in ks), 1e-12)
                for ks in per_col.values() if ks)
    y0, x0 = [0.0] * n, [0.0] * n
    for c, ks in per_col.items():
        used = math.fsum(size[k] * scale for k in ks) + pad * (len(ks) - 1)
        y = top + max(0.0, (bottom - top - used) / 2)
        for k in ks:
            y0[k] = y
            x0[k] = 10 + c * (width - 20 - thick) / max(n_cols - 1, 1)
            y += size[k] * scale + pad
    colors = list(node.color) if node.color is not None and not isinstance(node.color, str) \
        else [node.color or "#888888"] * n
    link_colors = link.color
    body = []
    out_y = {k: y0[k] for k in range(n)}
    in_y = {k: y0[k] for k in range(n)}
    order = sorted(range(len(values)), key=lambda i: (y0[sources[i]], y0[targets[i]]))
    starts: dict[int, float] = {}  # each band's top at its source node
    for i in order:
        starts[i] = out_y[sources[i]]
        out_y[sources[i]] += values[i] * scale
    for i in sorted(range(len(values)), key=lambda i: (y0[targets[i]], y0[sources[i]])):
        s, t, v = sources[i], targets[i], values[i]
        h = v * scale
        ya, yb = starts[i], in_y[t]
        in_y[t] += h
        xa, xb = x0[s] + thick, x0[t]
        xm = (xa + xb) / 2
        path = (f"M {xa:.1f} {ya:.2f} C {xm:.1f} {ya:.2f} {xm:.1f} {yb:.2f} {xb:.1f} {yb:.2f} "
                f"L {xb:.1f} {yb + h:.2f} C {xm:.1f} {yb + h:.2f} {xm:.1f} {ya + h:.2f} "
                f"{xa:.1f} {ya + h:.2f} Z")
        point = {"value": v, "customdata": _at(link.customdata, i),
                 "source.label": labels[s], "target.label": labels[t]}
        tip = hover_text(link.hovertemplate, point,
                         f"{labels[s]} → {labels[t]}\n{_number(v, ',.2f')}")
        fill = _color(_at(link_colors, i), "rgba(160, 160, 160, 0.45)")
        body.append(f'<path class="sankey-link" d="{path}" fill="{_esc(fill)}" '
                    f'data-source="{s}" data-target="{t}" data-value="{v!r}">{_tip(tip)}</path>')
    for k in shown:
        h = max(size[k] * scale, 1.0)
        tip = hover_text(node.hovertemplate, {"label": labels[k], "value": size[k]}, labels[k])
        color = _color(colors[k] if k < len(colors) else None, "#888888")
        last = column[k] == n_cols - 1 and n_cols > 1
        tx = x0[k] - 6 if last else x0[k] + thick + 6
        label = _text(tx, y0[k] + h / 2, [_plain(labels[k]).replace("\n", " ")], size=12,
                      anchor="end" if last else "start", css="node-label", halo=True,
                      valign="middle")
        # a node and its label, as plotly's ``g.sankey-node``
        body.append(f'<g class="sankey-node"><rect x="{x0[k]:.1f}" y="{y0[k]:.2f}" '
                    f'width="{thick:g}" height="{h:.2f}" fill="{_esc(color)}" stroke="#444444" '
                    f'stroke-width="0.5" data-value="{size[k]!r}">{_tip(tip)}</rect>{label}</g>')
    return _document(fig, body, width, height, "sankey")


# -- axes ------------------------------------------------------------------------------------------

def _nice_step(span: float, count: int = 6) -> float:
    raw = span / max(count, 1)
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _value_axis(lo: float, hi: float, include_zero: bool) -> tuple[float, float, list[float]]:
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi <= lo:
        hi = lo + 1.0
    step = _nice_step(hi - lo)
    first = math.floor(lo / step + 1e-9) * step
    last = math.ceil(hi / step - 1e-9) * step
    ticks = [first + k * step for k in range(int(round((last - first) / step)) + 1)]
    return first, last, ticks


def _tick_label(value: float, step: float) -> str:
    decimals = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
    return fmt.number(value, decimals)


class _Axis:
    """A position axis: categories (bands) or numbers (years), mapped to pixels."""

    def __init__(self, values: list[Any], axis: Any, lo_px: float, hi_px: float,
                 reversed_: bool, banded: bool = True) -> None:
        self.categorical = axis.type == "category" or any(isinstance(v, str) for v in values)
        self.lo_px, self.hi_px, self.reversed = lo_px, hi_px, reversed_
        if self.categorical:
            self.categories = list(dict.fromkeys(str(v) for v in values))  # order of appearance
            self._position = {c: float(k) for k, c in enumerate(self.categories)}
            self.lo, self.hi = -0.5, len(self.categories) - 0.5
        else:
            numbers = [float(v) for v in values if not fmt.is_missing(v)]
            if axis.range is not None:
                self.lo, self.hi = float(axis.range[0]), float(axis.range[1])
            elif not numbers:
                self.lo, self.hi = 0.0, 1.0
            elif banded:  # bars at years: a band of one unit each
                self.lo, self.hi = min(numbers) - 0.5, max(numbers) + 0.5
            else:  # points: a margin of 4 % so that no marker sits on the frame
                pad = 0.04 * ((max(numbers) - min(numbers)) or 1.0)
                self.lo, self.hi = min(numbers) - pad, max(numbers) + pad
        self.years = not self.categorical and all(
            float(v).is_integer() and 1800 <= float(v) <= 2200 for v in values
            if not fmt.is_missing(v))
        self.dtick = float(axis.dtick) if isinstance(axis.dtick, (int, float)) else None

    def index(self, value: Any) -> float:
        return self._position[str(value)] if self.categorical else float(value)

    def px(self, value: float) -> float:
        t = (value - self.lo) / (self.hi - self.lo)
        if self.reversed:
            t = 1 - t
        return self.lo_px + t * (self.hi_px - self.lo_px)

    def unit_px(self) -> float:
        return abs(self.hi_px - self.lo_px) / (self.hi - self.lo)

    def ticks(self) -> list[tuple[float, str]]:
        if self.categorical:
            return [(float(k), c) for k, c in enumerate(self.categories)]
        step = self.dtick or _nice_step(self.hi - self.lo, 8)
        while (self.hi - self.lo) / step * 30 > abs(self.hi_px - self.lo_px):
            step *= 2  # one label per 30 px at most
        first = math.ceil(self.lo / step - 1e-9) * step
        out = []
        value = first
        while value <= self.hi + 1e-9:
            # years as « 2018 »; other numbers in French with separators
            out.append((value, str(int(value)) if self.years else _tick_label(value, step)))
            value += step
        return out


def _axis_title(axis: Any) -> str:
    return _plain(axis.title.text) if axis.title is not None and axis.title.text else ""


def _legend_items(fig: go.Figure) -> list[tuple[str, str, str, str | None, float | None]]:
    """``(name, colour, kind, dash, opacity)`` of the traces plotly would list in its legend."""
    traces = [t for t in fig.data if t.name and t.showlegend is not False]
    shown = fig.layout.showlegend
    if shown is False or (shown is None and len(fig.data) < 2):
        return []
    items = []
    for k, t in enumerate(traces):
        if t.type == "bar":
            color = _trace_color(t, k)
            items.append((str(t.name), color, "bar", None, t.opacity))
        else:
            color = _color(t.line.color if t.line else None, _trace_color(t, k))
            kind = "line" if "lines" in (t.mode or "lines") else "marker"
            items.append((str(t.name), color, kind, t.line.dash if t.line else None, t.opacity))
    return items


def _trace_color(trace: Any, k: int) -> str:
    marker = trace.marker
    color = marker.color if marker is not None else None
    if isinstance(color, str):
        return color
    first = _at(color, 0)
    if isinstance(first, str):
        return first
    if trace.type == "scatter" and trace.line is not None and isinstance(trace.line.color, str):
        return trace.line.color
    return DEFAULT_COLORS[k % len(DEFAULT_COLORS)]


def _legend(items: list[tuple[str, str, str, str | None, float | None]], x0: float, y0: float,
            width: float) -> tuple[list[str], float]:
    """Horizontal legend rows from ``(x0, y0)``; returns the elements and the height used."""
    if not items:
        return [], 0.0
    body, x, y = [], x0, y0
    for name, color, kind, dash, opacity in items:
        alpha = f' opacity="{opacity:g}"' if opacity is not None and opacity < 1 else ""
        lines = _wrap(name, 12, width - 40, max_lines=2)
        w = 24 + max(text_width(line, 12) for line in lines) + 16
        if x > x0 and x + w > x0 + width:
            x, y = x0, y + 18
        if kind == "bar":
            body.append(f'<rect x="{x:.1f}" y="{y + 2:.1f}" width="14" height="12" '
                        f'fill="{_esc(color)}"{alpha}/>')
        elif kind == "line":
            body.append(f'<line x1="{x:.1f}" y1="{y + 8:.1f}" x2="{x + 18:.1f}" y2="{y + 8:.1f}" '
                        f'stroke="{_esc(color)}" stroke-width="3"{_dash(dash)}/>')
        else:
            body.append(f'<circle cx="{x + 7:.1f}" cy="{y + 8:.1f}" r="5" fill="{_esc(color)}"/>')
        body.append(_text(x + 22, y + 1, lines, size=12, valign="top"))
        x += w
        y += 14.4 * (len(lines) - 1)  # a name wrapped on two lines
    return body, y - y0 + 24


def _dash(dash: str | None) -> str:
    pattern = {"dash": "7,4", "dot": "2,3", "dashdot": "7,3,2,3", "longdash": "12,4"}.get(
        dash or "")
    return f' stroke-dasharray="{pattern}"' if pattern else ""


# -- bars and lines --------------------------------------------------------------------------------

def _panels(fig: go.Figure) -> list[tuple[Any, Any, Any, list[Any], list[Any]]] | None:
    """The plot areas of a figure: ``(x axis, y axis, secondary y axis or None, traces,
    secondary traces)``, side by side (one row of subplots), or ``None`` when the layout is
    not one the static view draws (rows of subplots, shared panels)."""
    by_x: dict[str, list[Any]] = {}
    for t in fig.data:
        by_x.setdefault(t.xaxis or "x", []).append(t)
    panels = []
    for x_id, traces in by_x.items():
        y_ids = list(dict.fromkeys(t.yaxis or "y" for t in traces))
        axes = [fig.layout[f"yaxis{y[1:]}"] for y in y_ids]
        if any(a.domain is not None and tuple(a.domain) != (0, 1) for a in axes):
            return None  # rows of subplots
        primary = [y for y, a in zip(y_ids, axes) if not a.overlaying]
        secondary = [y for y, a in zip(y_ids, axes) if a.overlaying]
        if len(primary) != 1 or len(secondary) > 1:
            return None
        y2 = secondary[0] if secondary else None
        panels.append((fig.layout[f"xaxis{x_id[1:]}"], fig.layout[f"yaxis{primary[0][1:]}"],
                       fig.layout[f"yaxis{y2[1:]}"] if y2 else None,
                       [t for t in traces if (t.yaxis or "y") != y2],
                       [t for t in traces if y2 and (t.yaxis or "y") == y2]))
    return panels


def _cartesian(fig: go.Figure) -> str | None:
    panels = _panels(fig)
    if not panels:
        return None
    width = WIDTH
    _, top = _title(fig, width)
    legend_body, legend_h = _legend(_legend_items(fig), 10, top, width - 20)
    top += legend_h + 8
    body = list(legend_body)
    if len(panels) > 1:  # subplot titles (make_subplots: paper annotations over each panel)
        titles = [a for a in fig.layout.annotations or () if a.text and a.xref == "paper"
                  and a.yref == "paper" and (a.y or 0) >= 1]
        for note in titles:
            x = 10 + float(note.x) * (width - 20)
            body.append(_text(x, top, _wrap(note.text, 13, (width - 20) / len(panels)),
                              size=13, anchor="middle", valign="top", weight="bold"))
        top += 22 if titles else 0
    boxes = []
    for k, (xaxis, *_rest) in enumerate(panels):
        domain = tuple(xaxis.domain) if xaxis.domain is not None else (0.0, 1.0)
        boxes.append((10 + domain[0] * (width - 20) - (0 if k == 0 else 10),
                      10 + domain[1] * (width - 20)))
    needed = [_panel(fig, panel, box, top, None, single=len(panels) == 1)
              for panel, box in zip(panels, boxes)]
    if any(n is None for n in needed):
        return None
    height = max(h for _, h in needed)  # type: ignore[misc]
    for panel, box in zip(panels, boxes):
        drawn = _panel(fig, panel, box, top, height, single=len(panels) == 1)
        if drawn is None:
            return None
        body += drawn[0]
    return _document(fig, body, width, height, "xy")


def _value_range(bars: list[Any], others: list[Any], barmode: str,
                 pos_of: Callable[[Any], list[Any]], val_of: Callable[[Any], list[float]]
                 ) -> tuple[float, float, list[float], list[str]] | None:
    """Range, ticks and tick labels of a value axis: stacked sums in stacked modes, zero
    included under bars, a 4 % margin around points."""
    lows: list[float] = []
    highs: list[float] = []
    if barmode in ("stack", "relative") and bars:
        plus: dict[str, float] = {}
        minus: dict[str, float] = {}
        for t in bars:
            for p, v in zip(pos_of(t), val_of(t)):
                if math.isnan(v):
                    continue
                bucket = plus if v >= 0 else minus
                bucket[str(p)] = bucket.get(str(p), 0.0) + v
        lows += list(minus.values()) or [0.0]
        highs += list(plus.values()) or [0.0]
    else:
        for t in bars:
            vals = [v for v in val_of(t) if not math.isnan(v)]
            lows += vals
            highs += vals
    for t in others:
        vals = [v for v in val_of(t) if not math.isnan(v)]
        lows += vals
        highs += vals
    if not lows:
        return None
    lo, hi = min(lows), max(highs)
    if not bars:
        pad = 0.04 * ((hi - lo) or 1.0)
        lo, hi = lo - pad, hi + pad
    v_lo, v_hi, ticks = _value_axis(lo, hi, include_zero=bool(bars))
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return v_lo, v_hi, ticks, [_tick_label(t, step) for t in ticks]


def _panel(fig: go.Figure, panel: tuple[Any, Any, Any, list[Any], list[Any]],
           box: tuple[float, float], top: float, height: float | None, single: bool
           ) -> tuple[list[str], float] | None:
    """Draw one plot area between ``box`` (x pixels) under ``top``; with ``height=None``,
    only the height it needs is computed (the body is then empty)."""
    xaxis, yaxis, y2axis, traces, traces2 = panel
    horizontal = any(t.type == "bar" and t.orientation == "h" for t in traces)
    if horizontal and traces2:
        return None
    pos_axis = yaxis if horizontal else xaxis
    val_axis = xaxis if horizontal else yaxis

    def pos_of(t: Any) -> list[Any]:
        values = t.y if horizontal else t.x
        return list(values) if values is not None else []

    def val_of(t: Any) -> list[float]:
        values = t.x if horizontal else t.y
        return [float(v) if v is not None else float("nan") for v in
                (values if values is not None else [])]

    positions = [p for t in traces + traces2 for p in pos_of(t)]
    if not positions:
        return None
    barmode = fig.layout.barmode or "group"
    bars = [t for t in traces if t.type == "bar"]
    scale = _value_range(bars, [t for t in traces if t.type == "scatter"], barmode, pos_of,
                         val_of)
    if scale is None:
        return None
    v_lo, v_hi, v_ticks, v_labels = scale
    if val_axis.range is not None:
        v_lo, v_hi = float(val_axis.range[0]), float(val_axis.range[1])
        keep = [k for k, t in enumerate(v_ticks) if v_lo <= t <= v_hi]
        v_ticks, v_labels = [v_ticks[k] for k in keep], [v_labels[k] for k in keep]
    scale2 = None
    if traces2:
        scale2 = _value_range([t for t in traces2 if t.type == "bar"],
                              [t for t in traces2 if t.type == "scatter"], "group", pos_of,
                              val_of)
        if scale2 is None or any(t.type == "bar" for t in traces2):
            return None  # bars on a second axis: not drawn statically
    x0_box, x1_box = box
    pos_title, val_title = _axis_title(pos_axis), _axis_title(val_axis)
    pos_visible = pos_axis.visible is not False
    reversed_ = pos_axis.autorange == "reversed"
    banded = bool(bars)
    probe = _Axis(positions, pos_axis, 0.0, 1.0, False, banded)
    n_pos = len(probe.categories) if probe.categorical else None
    right = 14.0
    if scale2 is not None:
        right += max(text_width(s, TICK_SIZE) for s in scale2[3]) + 8 + \
            (22 if _axis_title(y2axis) else 0)

    if horizontal:
        labels = [lines for _, c in probe.ticks() for lines in [_lines(c)]] if pos_visible else []
        left = (max((text_width(line, TICK_SIZE) for ls in labels for line in ls),
                    default=0) + 8) + (20 if pos_title else 0)
        left = x0_box + min(left, (x1_box - x0_box) * 0.45)
        bottom_margin = 24 + (20 if val_title else 0)
        rows = n_pos or 8
        max_lines = max((len(ls) for ls in labels), default=1)
        band_min = max(20.0, 13.2 * max_lines + 6)
        needed = max(float(fig.layout.height or HEIGHT), top + rows * band_min + bottom_margin)
        if height is None:
            return [], needed
        plot = (left, top, x1_box - right, height - bottom_margin)
        # categories from top to bottom when reversed, else from the bottom up (plotly's order)
        axis = _Axis(positions, pos_axis, plot[1], plot[3], not reversed_, banded)

        def val_px(v: float) -> float:
            return plot[0] + (v - v_lo) / (v_hi - v_lo) * (plot[2] - plot[0])
    else:
        left = x0_box + max((text_width(s, TICK_SIZE) for s in v_labels), default=0) + 8 \
            + (22 if val_title else 0)
        plot_w = x1_box - right - left
        band_px = plot_w / max(n_pos or 1, 1) if probe.categorical else 40
        tick_lines = [_wrap(c, TICK_SIZE, max(band_px - 6, 40)) for _, c in probe.ticks()] \
            if pos_visible and probe.categorical else [[""]]
        max_lines = max(len(ls) for ls in tick_lines)
        bottom_margin = 10 + 13.2 * max_lines + 8 + (20 if pos_title else 0)
        if height is None:
            return [], float(fig.layout.height or HEIGHT)
        plot = (left, top, x1_box - right, height - bottom_margin)
        axis = _Axis(positions, pos_axis, plot[0], plot[2], reversed_, banded)

        def val_px(v: float) -> float:
            return plot[3] - (v - v_lo) / (v_hi - v_lo) * (plot[3] - plot[1])

    pos_px = axis.px
    body: list[str] = []
    x_left, y_top, x_right, y_bottom = plot

    # shapes under the marks (reference periods), lines over them
    shapes_under, shapes_over = _shapes(fig, axis, horizontal, plot) if single else ([], [])
    body += shapes_under
    # value grid, ticks and zero line
    for t, label in zip(v_ticks, v_labels):
        if horizontal:
            x = val_px(t)
            body.append(f'<line x1="{x:.1f}" y1="{y_top:.1f}" x2="{x:.1f}" y2="{y_bottom:.1f}" '
                        f'stroke="{GRID}"/>')
            body.append(_text(x, y_bottom + 16, [label], anchor="middle", fill=MUTED))
        else:
            y = val_px(t)
            body.append(f'<line x1="{x_left:.1f}" y1="{y:.1f}" x2="{x_right:.1f}" y2="{y:.1f}" '
                        f'stroke="{GRID}"/>')
            body.append(_text(x_left - 6, y, [label], anchor="end", fill=MUTED, valign="middle"))
    if v_lo < 0 < v_hi or bars:
        zero = val_px(0.0)
        if horizontal:
            body.append(f'<line x1="{zero:.1f}" y1="{y_top:.1f}" x2="{zero:.1f}" '
                        f'y2="{y_bottom:.1f}" stroke="#333333" stroke-width="1.5"/>')
        else:
            body.append(f'<line x1="{x_left:.1f}" y1="{zero:.1f}" x2="{x_right:.1f}" '
                        f'y2="{zero:.1f}" stroke="#333333" stroke-width="1.5"/>')
    # position ticks
    if pos_visible:
        band = axis.unit_px()
        for value, label in axis.ticks():
            p = pos_px(value)
            if horizontal:
                body.append(_text(x_left - 6, p, _lines(label), anchor="end", valign="middle",
                                  css="tick"))
            else:
                lines = _wrap(label, TICK_SIZE, max(band - 6, 40)) if axis.categorical else \
                    [label]
                body.append(_text(p, y_bottom + 6, lines, anchor="middle", valign="top",
                                  css="tick"))
    # axis titles
    if horizontal:
        if val_title:
            body.append(_text((x_left + x_right) / 2, y_bottom + 36, [val_title],
                              anchor="middle", fill=MUTED))
        if pos_title:
            body.append(_text(x0_box + 6, (y_top + y_bottom) / 2, [pos_title],
                              anchor="middle", fill=MUTED, rotate=-90))
    else:
        if val_title:
            body.append(_text(x0_box + 8, (y_top + y_bottom) / 2, [val_title],
                              anchor="middle", fill=MUTED, rotate=-90, valign="middle"))
        if pos_title:
            body.append(_text((x_left + x_right) / 2, y_bottom + bottom_margin - 8, [pos_title],
                              anchor="middle", fill=MUTED))
    body += _bars(bars, barmode, axis, pos_of, val_of, pos_px, val_px, horizontal)
    body += _scatters([t for t in traces if t.type == "scatter"], axis, pos_of, val_of, pos_px,
                      val_px, horizontal)
    if scale2 is not None:  # a second value axis, on the right
        lo2, hi2, ticks2, labels2 = scale2

        def val2_px(v: float) -> float:
            return y_bottom - (v - lo2) / (hi2 - lo2) * (y_bottom - y_top)

        for t, label in zip(ticks2, labels2):
            body.append(_text(x_right + 6, val2_px(t), [label], fill=MUTED, valign="middle"))
        title2 = _axis_title(y2axis)
        if title2:
            body.append(_text(x1_box - 6, (y_top + y_bottom) / 2, [title2], anchor="middle",
                              fill=MUTED, rotate=90, valign="middle"))
        body += _scatters(traces2, axis, pos_of, val_of, pos_px, val2_px, horizontal,
                          first_color=len(traces))
    body += shapes_over
    body.append(f'<rect x="{x_left:.1f}" y="{y_top:.1f}" width="{x_right - x_left:.1f}" '
                f'height="{y_bottom - y_top:.1f}" fill="none" stroke="#BBBBBB" '
                f'stroke-width="0.5"/>')
    return body, height


def _bars(bars: list[Any], barmode: str, axis: _Axis, pos_of: Callable[[Any], list[Any]],
          val_of: Callable[[Any], list[float]], pos_px: Callable[[float], float],
          val_px: Callable[[float], float], horizontal: bool) -> list[str]:
    body: list[str] = []
    if not bars:
        return body
    band = axis.unit_px() * 0.8  # plotly's bargap 0.2
    grouped = barmode == "group"
    slot = band / len(bars) if grouped else band
    plus: dict[float, float] = {}
    minus: dict[float, float] = {}
    for k, t in enumerate(bars):
        opacity = t.opacity if t.opacity is not None else 1.0
        colors = t.marker.color if t.marker is not None else None
        line = t.marker.line if t.marker is not None else None
        stroke = ""
        if line is not None and line.width and isinstance(line.color, str):
            stroke = f' stroke="{_esc(line.color)}" stroke-width="{float(line.width):g}"'
        for i, (p, v) in enumerate(zip(pos_of(t), val_of(t))):
            if math.isnan(v):
                continue
            index = axis.index(p)
            if barmode in ("stack", "relative"):
                bucket = plus if v >= 0 else minus
                base = bucket.get(index, 0.0)
                bucket[index] = base + v
                a, b = base, base + v
            else:
                a, b = 0.0, v
            center = pos_px(index)
            offset = (-band / 2 + slot * k + slot / 2) if grouped else 0.0
            c = center + offset
            va, vb = sorted((val_px(a), val_px(b)))
            color = _color(_at(colors, i), _trace_color(t, k))
            point = {("y" if horizontal else "x"): p, ("x" if horizontal else "y"): v,
                     "customdata": _at(t.customdata, i), "text": _at(t.text, i),
                     "name": t.name}
            tip = hover_text(t.hovertemplate, point,
                             f"{t.name + ' · ' if t.name else ''}{_plain(p)} : {_number(v)}")
            if horizontal:
                geom = (f'x="{va:.2f}" y="{c - slot / 2:.2f}" width="{max(vb - va, 0.0):.2f}" '
                        f'height="{slot:.2f}"')
            else:
                geom = (f'x="{c - slot / 2:.2f}" y="{va:.2f}" width="{slot:.2f}" '
                        f'height="{max(vb - va, 0.0):.2f}"')
            alpha = f' fill-opacity="{opacity:g}"' if opacity < 1 else ""
            body.append(f'<rect class="bar" {geom} fill="{_esc(color)}"{alpha}{stroke} '
                        f'data-value="{v!r}">{_tip(tip)}</rect>')
    return body


def _scatters(traces: list[Any], axis: _Axis, pos_of: Callable[[Any], list[Any]],
              val_of: Callable[[Any], list[float]], pos_px: Callable[[float], float],
              val_px: Callable[[float], float], horizontal: bool,
              first_color: int = 0) -> list[str]:
    body: list[str] = []
    for k, t in enumerate(traces, start=first_color):
        mode = t.mode or "lines+markers"
        color = _color(t.line.color if t.line is not None else None, _trace_color(t, k))
        if t.marker is not None and isinstance(t.marker.color, str):
            marker_color = t.marker.color
        else:
            marker_color = color
        points = []
        for i, (p, v) in enumerate(zip(pos_of(t), val_of(t))):
            if math.isnan(v) or p is None:
                continue
            pp, vp = pos_px(axis.index(p)), val_px(v)
            x, y = (vp, pp) if horizontal else (pp, vp)
            point = {("y" if horizontal else "x"): p, ("x" if horizontal else "y"): v,
                     "customdata": _at(t.customdata, i), "text": _at(t.text, i),
                     "name": t.name}
            tip = hover_text(t.hovertemplate, point,
                             f"{t.name + ' · ' if t.name else ''}{_plain(p)} : {_number(v)}")
            points.append((x, y, tip, v, _at(t.text, i)))
        if "lines" in mode and len(points) > 1:
            width = float(t.line.width) if t.line is not None and t.line.width else 2.0
            d = " ".join(f"{'M' if j == 0 else 'L'} {x:.2f} {y:.2f}"
                         for j, (x, y, *_rest) in enumerate(points))
            body.append(f'<path class="line" d="{d}" fill="none" stroke="{_esc(color)}" '
                        f'stroke-width="{width:g}"{_dash(t.line.dash if t.line else None)}>'
                        f'{_tip(str(t.name or ""))}</path>')
        size = float(t.marker.size) if t.marker is not None and t.marker.size else 7.0
        for x, y, tip, v, text in points:
            visible = "markers" in mode
            r = size / 2 if visible else 6.0
            fill = _esc(marker_color) if visible else "transparent"
            body.append(f'<circle class="point" cx="{x:.2f}" cy="{y:.2f}" r="{r:g}" '
                        f'fill="{fill}" data-value="{v!r}">{_tip(tip)}</circle>')
            if "text" in mode and text:
                tsize = float(t.textfont.size) if t.textfont is not None and t.textfont.size \
                    else 11.0
                body.append(_text(x, y - r - 4, [_plain(text).replace("\n", " ")], size=tsize,
                                  anchor="middle", halo=True))
    return body


def _shapes(fig: go.Figure, axis: _Axis, horizontal: bool,
            plot: tuple[float, float, float, float]) -> tuple[list[str], list[str]]:
    """Rect and line shapes along the position axis (data coordinates), and their annotations."""
    under: list[str] = []
    over: list[str] = []
    if horizontal or axis.categorical:
        return under, over
    x_left, y_top, x_right, y_bottom = plot

    def x_px(value: Any, ref: str | None) -> float:
        if ref in ("paper", "x domain"):
            return x_left + float(value) * (x_right - x_left)
        return axis.px(float(value))

    def y_px(value: Any) -> float:
        return y_bottom - float(value) * (y_bottom - y_top)

    for shape in fig.layout.shapes or ():
        if shape.yref not in ("paper", "y domain") or shape.type not in ("rect", "line"):
            continue
        xa, xb = x_px(shape.x0, shape.xref), x_px(shape.x1, shape.xref)
        ya, yb = y_px(shape.y1 if shape.y1 is not None else 1), y_px(shape.y0 or 0)
        line = shape.line
        stroke_color = line.color if line is not None and isinstance(line.color, str) else "#444"
        if shape.type == "rect":
            opacity = shape.opacity if shape.opacity is not None else 1.0
            under.append(f'<rect x="{min(xa, xb):.1f}" y="{ya:.1f}" width="{abs(xb - xa):.1f}" '
                         f'height="{yb - ya:.1f}" fill="{_esc(shape.fillcolor or "#DDDDDD")}" '
                         f'fill-opacity="{opacity:g}"/>')
        else:
            over.append(f'<line x1="{xa:.1f}" y1="{ya:.1f}" x2="{xb:.1f}" y2="{yb:.1f}" '
                        f'stroke="{_esc(stroke_color)}" stroke-width="1.5"'
                        f'{_dash(line.dash if line is not None else None)}/>')
    row = 0
    for note in fig.layout.annotations or ():
        if not note.text or note.showarrow:
            continue
        if note.xref not in ("x", "paper", "x domain") or \
                note.yref not in ("paper", "y domain"):
            continue
        x = x_px(note.x, note.xref)
        anchor = {"left": "start", "right": "end", "center": "middle"}.get(note.xanchor or "",
                                                                           "start")
        x += 4 if anchor == "start" else -4 if anchor == "end" else 0
        y = y_px(note.y if note.y is not None else 1) + 4 + 14 * row
        over.append(_text(x, y, _lines(note.text), size=11, anchor=anchor, fill=TEXT,
                          valign="top", halo=True))
        row += 1
    return under, over


# -- heat map --------------------------------------------------------------------------------------

def _heatmap(fig: go.Figure) -> str | None:
    trace = fig.data[0]
    z = np.asarray(trace.z, dtype=float)
    n_rows, n_cols = z.shape
    xs = [str(v) for v in trace.x] if trace.x is not None else [str(k) for k in range(n_cols)]
    ys = [str(v) for v in trace.y] if trace.y is not None else [str(k) for k in range(n_rows)]
    finite = z[np.isfinite(z)]
    zmin = float(trace.zmin) if trace.zmin is not None else \
        (float(finite.min()) if finite.size else 0.0)
    zmax = float(trace.zmax) if trace.zmax is not None else \
        (float(finite.max()) if finite.size else 1.0)
    scale = trace.colorscale
    if scale is None:
        scale = pcolors.get_colorscale("Plasma")
    scale = [[float(a), str(b)] for a, b in scale]
    width = WIDTH
    _, top = _title(fig, width)
    xaxis, yaxis = fig.layout.xaxis, fig.layout.yaxis
    show_x, show_y = xaxis.visible is not False, yaxis.visible is not False
    x_title, y_title = _axis_title(xaxis), _axis_title(yaxis)
    row_lines = [_lines(v) for v in ys] if show_y else []
    left = 10 + (max((text_width(line, TICK_SIZE) for ls in row_lines for line in ls),
                     default=0) + 8 if show_y else 0) + (20 if y_title and show_y else 0)
    left = min(left, width * 0.4)
    angle = float(xaxis.tickangle) if xaxis.tickangle is not None else 0.0
    if angle and show_x:
        # rotated labels on one line, shortened (the whole label is the tooltip): wrapped
        # blocks would overlap their neighbours once rotated; steeper when columns are narrow
        col_lines = [[_shorten(" ".join(_lines(v)), HEAT_LABEL_CHARS)] for v in xs]
        if (WIDTH - 300) / max(n_cols, 1) < 60:
            angle = -60.0
    else:
        col_lines = [_lines(v) for v in xs] if show_x else []
    col_text_w = max((text_width(line, TICK_SIZE) for ls in col_lines for line in ls), default=0)
    # labels rotated up to the right overhang the last column
    right = 24 + (min(col_text_w * math.cos(math.radians(angle)), 220.0)
                  if show_x and xaxis.side == "top" and angle else 0.0)
    col_w = (width - left - right) / n_cols
    col_text_h = max((len(ls) for ls in col_lines), default=0) * 13.2
    if show_x:
        sin = abs(math.sin(math.radians(angle))) if angle else 0.0
        label_h = col_text_w * sin + col_text_h + 8
    else:
        label_h = 0.0
    on_top = xaxis.side == "top"
    band_top = top + (label_h + (20 if x_title else 0) if on_top else 0)
    row_h = max(18.0, 13.2 * max((len(ls) for ls in row_lines), default=1) + 4) if show_y \
        else col_w
    height = max(float(fig.layout.height or HEIGHT),
                 band_top + n_rows * row_h + (0 if on_top else label_h + 20) + 16)
    plot_bottom = height - (16 if on_top else label_h + 20 + 16)
    row_h = (plot_bottom - band_top) / n_rows
    reversed_ = yaxis.autorange == "reversed"
    gap_x, gap_y = float(trace.xgap or 0), float(trace.ygap or 0)
    body: list[str] = []
    texts = trace.text
    for r in range(n_rows):
        ry = band_top + (r if reversed_ else n_rows - 1 - r) * row_h
        for c in range(n_cols):
            value = z[r, c]
            if not np.isfinite(value):
                continue
            t = 0.0 if zmax == zmin else min(max((value - zmin) / (zmax - zmin), 0.0), 1.0)
            color = pcolors.sample_colorscale(scale, [t], colortype="rgb")[0]
            if trace.reversescale:
                color = pcolors.sample_colorscale(scale, [1 - t], colortype="rgb")[0]
            cx = left + c * col_w
            cell_text = _at(_at(texts, r), c)
            point = {"x": xs[c], "y": ys[r], "z": float(value), "text": cell_text,
                     "customdata": _at(_at(trace.customdata, r), c)}
            tip = hover_text(trace.hovertemplate, point,
                             f"{_plain(ys[r])} · {_plain(xs[c])} : {_number(float(value))}")
            body.append(f'<rect class="cell" x="{cx + gap_x / 2:.2f}" y="{ry + gap_y / 2:.2f}" '
                        f'width="{max(col_w - gap_x, 0.5):.2f}" '
                        f'height="{max(row_h - gap_y, 0.5):.2f}" fill="{color}" '
                        f'data-value="{float(value)!r}">{_tip(tip)}</rect>')
            if trace.texttemplate and cell_text:
                shown = hover_text(trace.texttemplate, point)
                ink = TEXT if _luminance(color) > 0.5 else "white"
                size = min(11.0, max(7.0, col_w / max(len(shown), 1) * 1.7))
                body.append(_text(cx + col_w / 2, ry + row_h / 2, [shown], size=size,
                                  anchor="middle", fill=ink, valign="middle"))
    if show_y:
        for r, lines in enumerate(row_lines):
            ry = band_top + (r if reversed_ else n_rows - 1 - r) * row_h
            body.append(_text(left - 6, ry + row_h / 2, lines, anchor="end", valign="middle",
                              css="tick"))
        if y_title:
            body.append(_text(14, (band_top + plot_bottom) / 2, [y_title], anchor="middle",
                              fill=MUTED, rotate=-90, valign="middle"))
    if show_x:
        for c, lines in enumerate(col_lines):
            x = left + (c + 0.5) * col_w
            if on_top:
                body.append(_text(x, band_top - 6, lines, anchor="start", css="tick",
                                  rotate=angle or None, valign="bottom",
                                  tip=" ".join(_lines(xs[c]))))
            else:
                body.append(_text(x, plot_bottom + 6, lines, anchor="middle", valign="top",
                                  css="tick"))
        if x_title:
            y = top + 12 if on_top else height - 10
            body.append(_text((left + width - right) / 2, y, [x_title], anchor="middle",
                              fill=MUTED))
    return _document(fig, body, width, height, "heatmap")
