"""Folium layers of the OCS GE map: coloured polygons, change layer, legend, backgrounds.

Every colouring (CS, US, family, artificialised status) is a function of the CS×US couple, so one
light polygon table (:func:`ocsge_engine.maps.simplify.light_polygons`) feeds them all. French
text (layer names, tooltips, legend) lives here, as for every presentation module.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, Figure, MacroElement
from folium.elements import ElementAddToElement
from folium.features import GeoJsonStyleMapper
from folium.utilities import get_obj_in_upper_tree
from jinja2 import Template

from ocsge_engine import fmt, nomenclature
from ocsge_engine.errors import SchemaError

logger = logging.getLogger(__name__)

ColourBy = Literal["cs", "us", "famille", "artif"]
COLOURINGS: dict[str, str] = {
    "cs": "Couverture du sol (CS)",
    "us": "Usage du sol (US)",
    "famille": "Familles (estimation)",
    "artif": "Artificialisation (décret et seuils officiels)",
}
IGN_ORTHO_URL = (
    "https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=ORTHOIMAGERY.ORTHOPHOTOS&STYLE=normal&TILEMATRIXSET=PM&FORMAT=image/jpeg"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}"
)
IGN_ATTRIBUTION = "© IGN – Géoplateforme (orthophotographies)"
BACKGROUND_COLOR = "#f4f2ec"
CHANGE_COLOR = "#111111"
UNKNOWN_COLOR = "#9E9E9E"
# Leaflet's per-zoom path simplification (pixels); 1.0 is Leaflet's default.
SMOOTH_FACTOR_PX = 1.5


def class_codes(frame: pd.DataFrame, by: ColourBy) -> np.ndarray:
    """Class code of each row for a colouring (a code :func:`nomenclature.color` knows).

    Args:
        frame: rows with canonical ``code_cs`` and ``code_us``.
        by: ``cs``, ``us``, ``famille`` (A/N/F estimate) or ``artif``: the official status
            when ``frame`` has an ``artif`` column (stored per polygon, decree matrix and
            thresholds), else the decree matrix.

    Returns:
        Object array of codes: CS/US codes, family codes or ``artificialise`` /
        ``non_artificialise``.

    >>> class_codes(pd.DataFrame({"code_cs": ["CS2.2.1"], "code_us": ["US5"]}), "artif").tolist()
    ['artificialise']
    """
    if by not in COLOURINGS:
        raise ValueError(f"unknown colouring {by!r}; expected one of {list(COLOURINGS)}")
    for col in ("code_cs", "code_us"):
        if col not in frame.columns:
            raise SchemaError(f"map layer lacks {col}", "La couche n'a pas les champs CS/US.")
    cs, us = frame["code_cs"], frame["code_us"]
    if by == "cs":
        return cs.to_numpy(dtype=object)
    if by == "us":
        return us.to_numpy(dtype=object)
    official = frame["artif"] if "artif" in frame.columns and frame["artif"].notna().all() else None
    if by == "famille":
        return nomenclature.family(cs, us, official)
    artificial = (np.asarray(official, dtype=bool) if official is not None
                  else nomenclature.is_artificial(cs, us))
    return np.where(artificial, "artificialise", "non_artificialise").astype(object)


def _html(text: object) -> str:
    """Text made inert in HTML element content (``<img …>`` -> ``&lt;img …&gt;``).

    >>> _html("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    """
    return html.escape(str(text), quote=False)


def _color(code: object) -> str:
    """Official colour of a class; grey for a code outside the nomenclature (kept unknown).

    >>> _color("CS9.9")
    '#9E9E9E'
    """
    try:
        return nomenclature.color(str(code))
    except KeyError:
        return UNKNOWN_COLOR


def _code_label(code: object) -> str:
    """Code and French label (raw text; escape it before it goes into HTML)."""
    if not isinstance(code, str) or not code:
        return "non renseigné"
    try:
        return f"{nomenclature.label(code)} ({code})"
    except KeyError:
        return code


def _code_text(code: object) -> str:
    """Code and French label for a tooltip, HTML-escaped."""
    return _html(_code_label(code))


def area_text(area_ha: float) -> str:
    """An area for a tooltip: m² under 1 ha (« 350 m² », never « 0,00 ha »), else hectares.

    >>> area_text(0.035), area_text(12.345)
    ('350\u202fm²', '12,3\u202fha')
    """
    if fmt.is_missing(area_ha):
        return fmt.MISSING
    if abs(float(area_ha)) < 1:
        return fmt.with_unit(float(area_ha) * 1e4, "m²", 0)
    return fmt.hectares(area_ha)


def _feature_collection(gdf: gpd.GeoDataFrame, properties: pd.DataFrame) -> dict[str, Any]:
    """GeoJSON dict with integer feature ids (folium maps styles to ids)."""
    geometries = _geojson_geometries(gdf.geometry.to_numpy())
    if geometries is None:  # empty or non-polygonal parts: geopandas' writer
        geo = json.loads(gpd.GeoSeries(gdf.geometry.to_numpy(), crs=gdf.crs)
                         .to_json(show_bbox=False))
        geometries = [feature["geometry"] for feature in geo["features"]]
    records = _records(properties)
    return {"type": "FeatureCollection",
            "features": [{"id": i, "type": "Feature", "properties": props, "geometry": geometry}
                         for i, (geometry, props) in enumerate(zip(geometries, records))]}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame.to_dict(orient="records")`` (Python scalars), from columns instead of rows."""
    names = [str(c) for c in frame.columns]
    columns = [[v.item() if isinstance(v, np.generic) else v for v in frame[c].tolist()]
               if frame[c].dtype == object else frame[c].tolist() for c in frame.columns]
    return [dict(zip(names, row)) for row in zip(*columns)] if names else [{}] * len(frame)


def _geojson_geometries(geoms: np.ndarray) -> list[dict[str, Any]] | None:
    """GeoJSON geometry dicts of (multi)polygons, equal to geopandas' ``to_json`` ones.

    Coordinates come out of one vectorised ``shapely.to_ragged_array`` call (exact floats)
    instead of shapely's per-ring Python iteration (0.3-0.5 s for a commune's light layer).
    ``None`` when a geometry is missing, empty or not a (multi)polygon.
    """
    import shapely

    if not len(geoms):
        return []
    types = shapely.get_type_id(geoms)
    if not np.isin(types, (3, 6)).all() or shapely.is_empty(geoms).any():
        return None
    _, coords, offsets = shapely.to_ragged_array(geoms, include_z=False)
    xy = coords.tolist()
    rings = [xy[a:b] for a, b in zip(offsets[0][:-1].tolist(), offsets[0][1:].tolist())]
    parts = [rings[a:b] for a, b in zip(offsets[1][:-1].tolist(), offsets[1][1:].tolist())]
    if len(offsets) == 2:  # polygons only
        return [{"type": "Polygon", "coordinates": part} for part in parts]
    return [{"type": "Polygon", "coordinates": parts[a]} if kind == 3
            else {"type": "MultiPolygon", "coordinates": parts[a:b]}
            for kind, a, b in zip(types.tolist(), offsets[2][:-1].tolist(),
                                  offsets[2][1:].tolist())]


class _RawElement(Element):  # type: ignore[misc]
    """Already rendered text, added to the figure as is (no Jinja template compiled from it)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class _KeyedStyleMapper(GeoJsonStyleMapper):  # type: ignore[misc]
    """folium's style and highlight maps, calling the functions once per ``style_key`` value.

    The layer's ``style_key(feature)`` must determine both functions' results (the class of a
    polygon, or nothing for a uniform style): the maps are then those folium builds, without
    a ``json.dumps`` per feature (2,000-4,000 per map).
    """

    def _create_mapping(self, func: Callable[..., Any], switch: str) -> dict[str, Any]:
        keys: dict[Any, str] = {}
        mapping: dict[str, Any] = {}
        style_key = self.geojson_obj.style_key
        for feature in self.data["features"]:
            value = style_key(feature)
            if value not in keys:
                content = func(feature)
                if any(isinstance(v, MacroElement) for v in content.values()):
                    return super()._create_mapping(func, switch)  # folium renders those
                keys[value] = self._to_key(content)
            mapping.setdefault(keys[value], []).append(self.get_feature_id(feature))
        self._set_default_key(mapping)
        return mapping


class GeoJsonLayer(folium.GeoJson):  # type: ignore[misc]
    """``folium.GeoJson`` whose rendered script is not recompiled as a Jinja template.

    branca's ``MacroElement.render`` wraps each macro's output in ``Element(output)``, which
    compiles that text as a template: for a layer embedding a commune's GeoJSON (0.2-1 MB)
    Jinja lexes the whole data, 0.1-0.5 s per map. The output here is the same text, added as
    a :class:`_RawElement`; tooltip and popup children render as usual.
    """

    def __init__(self, *args: Any, style_key: Callable[[dict[str, Any]], Any] | None = None,
                 bounds: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_key = style_key
        # (minx, miny, maxx, maxy) of the data (``total_bounds``): folium's bounds without
        # walking every coordinate in Python (streamlit-folium asks for them, 0.1-0.4 s)
        self._lonlat_bounds = None if bounds is None else [float(b) for b in bounds]

    def _get_self_bounds(self) -> list[list[float | None]]:
        if self._lonlat_bounds is None or not self.data["features"]:
            return super()._get_self_bounds()  # type: ignore[no-any-return]
        minx, miny, maxx, maxy = self._lonlat_bounds
        return [[miny, minx], [maxy, maxx]]

    def render(self, **kwargs: Any) -> None:
        if self.includes:  # folium.Class.render's include statements: not used by GeoJson
            super().render(**kwargs)
            return
        # folium.GeoJson.render: the style and highlight maps
        self.parent_map = get_obj_in_upper_tree(self, folium.Map)
        if (self.style or self.highlight) and self.data["features"]:
            mapper = (GeoJsonStyleMapper if self.style_key is None else _KeyedStyleMapper)(
                self.data, self.feature_identifier, self)
            if self.style:
                self.style_map = mapper.get_style_map(self.style_function)
            if self.highlight:
                self.highlight_map = mapper.get_highlight_map(self.highlight_function)
        if self.show:  # folium.Layer.render: add the layer to its map when the map opens
            self.add_child(ElementAddToElement(element_name=self.get_name(),
                                               element_parent_name=self._parent.get_name()),
                           name=self.get_name() + "_add")
        # branca.MacroElement.render, without compiling the output as a template
        figure = self.get_root()
        assert isinstance(figure, Figure), "You cannot render this Element if it is not in a Figure."
        macros = self._template.module.__dict__
        for part, target in (("header", figure.header), ("html", figure.html),
                             ("script", figure.script)):
            macro = macros.get(part)
            if macro is not None:
                target.add_child(_RawElement(macro(self, kwargs)), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


def polygons_layer(light: gpd.GeoDataFrame, by: ColourBy, name: str | None = None,
                   fill_opacity: float = 0.7) -> folium.GeoJson:
    """GeoJson layer of light polygons coloured by ``by``, with CS/US tooltips.

    Args:
        light: output of :func:`~ocsge_engine.maps.simplify.light_polygons` (EPSG:4326).
        by: colouring, see :data:`COLOURINGS`.
        name: layer name in the layer control (default: the colouring's French title).
        fill_opacity: polygon fill opacity.

    Returns:
        A ``folium.GeoJson`` whose features carry ``classe`` (the colouring class, escaped),
        ``cs``, ``us`` (codes, plain text) and ``surface`` properties, with its hover tooltip
        (:class:`FeatureTooltips`).
    """
    classes = class_codes(light, by)
    # the class key is in the page's script too: escaped, so no "</script>" can close it
    colors = {_html(code): _color(code) for code in pd.unique(classes)}
    props = pd.DataFrame({
        "classe": [_html(code) for code in classes],
        "cs": _raw_codes(light["code_cs"]),
        "us": _raw_codes(light["code_us"]),
        "surface": [area_text(a) for a in light["area_ha"]],
    })
    rows: list[list[str]] = []
    if by in ("famille", "artif"):
        rows.append(["Famille (estimation)" if by == "famille" else "Statut", "class", "classe"])
    rows += [["Couverture", "code", "cs"], ["Usage", "code", "us"],
             ["Surface de la tache", "text", "surface"]]  # adjacent polygons of a couple merge

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        color = colors[feature["properties"]["classe"]]
        return {"fillColor": color, "color": color, "weight": 0.5, "fillOpacity": fill_opacity}

    layer = GeoJsonLayer(
        _feature_collection(light, props),
        name=name or COLOURINGS[by],
        style_function=style,
        highlight_function=lambda _: {"weight": 2, "color": "#000000"},
        style_key=lambda feature: feature["properties"]["classe"],  # what both depend on
        bounds=light.total_bounds,
        # Leaflet re-simplifies each path per zoom level with this tolerance in pixels
        smooth_factor=SMOOTH_FACTOR_PX,
    )
    classes_shown = {_html(c): nomenclature.label(c) for c in pd.unique(classes)} \
        if by in ("famille", "artif") else {}
    # tooltip only (no popup: one binding per feature less, 10-20 % faster first draw)
    layer.add_child(FeatureTooltips(rows, pd.concat([light["code_cs"], light["code_us"]]),
                                    classes_shown))
    return layer


def _raw_codes(values: pd.Series) -> list[str]:
    """Codes as plain text for the browser (``""`` when missing): shown as text nodes only."""
    return [code if isinstance(code, str) else "" for code in values]


def _code_labels(codes: Any) -> dict[str, str]:
    """French label of each code present that the nomenclature knows (the browser shows an
    unknown code, kept with ``--allow-unknown``, as it is)."""
    labels = {}
    for code in pd.unique(pd.Series(codes)):
        if isinstance(code, str) and code:
            try:
                labels[code] = str(nomenclature.label(code))
            except KeyError:
                pass
    return labels


class FeatureTooltips(MacroElement):  # type: ignore[misc]
    """The hover tooltip of a layer's parts: built in the browser from their properties.

    One table row per ``rows`` entry, ``[label, kind, property(, property)]``: ``code`` shows a
    code as « label (code) » (« non renseigné » when missing), ``pair`` two codes before and
    after, ``class`` the French label of the colouring class, ``text`` the property as it is.
    The layer ships each part's codes and the labels once (a ready « label (code) » text per
    part, as ``folium.GeoJsonTooltip`` needs, weighed a fifth of a commune's map), and the
    tooltip is made of text nodes only: no property reaches the page as markup.

    Args:
        rows: the table rows.
        codes: the codes the layer holds (their labels are embedded once).
        classes: label of each colouring class (``classe`` property), for ``class`` rows.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = {{ this.constants|tojson }};
{{ this._parent.get_name() }}.bindTooltip(function (layer) {
    var c = {{ this.get_name() }}, p = layer.feature.properties;
    function code(value) {
        if (!value) { return "non renseigné"; }
        var label = c.labels[value];
        return label ? label + " (" + value + ")" : value;
    }
    var table = document.createElement("table");
    table.style.cssText = "font:12px/1.35 sans-serif;border-collapse:collapse";
    c.rows.forEach(function (row) {
        var kind = row[1], value;
        if (kind === "code") { value = code(p[row[2]]); }
        else if (kind === "pair") { value = code(p[row[2]]) + " \u2192 " + code(p[row[3]]); }
        else if (kind === "class") { value = c.classes[p[row[2]]] || p[row[2]]; }
        else { value = String(p[row[2]]); }
        var line = table.insertRow(), head = document.createElement("th");
        head.textContent = row[0];
        head.style.cssText = "text-align:left;padding:1px 8px 1px 0;vertical-align:top";
        line.appendChild(head);
        line.insertCell().textContent = value;
    });
    return table;
}, {sticky: true});
{% endmacro %}
""")

    def __init__(self, rows: list[list[str]], codes: Any,
                 classes: dict[str, str] | None = None) -> None:
        super().__init__()
        self._name = "FeatureTooltips"
        self.constants = {"rows": rows, "labels": _code_labels(codes), "classes": classes or {}}


def change_card_fields(light_changes: gpd.GeoDataFrame) -> pd.DataFrame:
    """What the card of each change part shows, as plain text (not HTML).

    The card itself is built in the browser when a part is clicked (:class:`ChangeCards`):
    the cover and use codes before and after (``cs_from``, ``cs_to``, ``us_from``, ``us_to``;
    ``""`` when missing), and ``cellule``, the total area of the part's cell of the CS exchange
    matrix over the layer (the territory). The part's own area is the tooltip's ``surface``.
    """
    cs_from, cs_to = light_changes["code_cs_from"], light_changes["code_cs_to"]
    cell_ha = light_changes.groupby([cs_from, cs_to], dropna=False)["area_ha"].transform("sum")
    columns = {"cs_from": "code_cs_from", "cs_to": "code_cs_to", "us_from": "code_us_from",
               "us_to": "code_us_to"}
    fields = {name: _raw_codes(light_changes[column]) for name, column in columns.items()}
    return pd.DataFrame({**fields, "cellule": [area_text(a) for a in cell_ha]},
                        index=light_changes.index)


class ChangeCards(MacroElement):  # type: ignore[misc]
    """The card of a change part, opened by a click: built in the browser from its properties.

    Before and after, label first and code small, for the cover and the use; the part's area;
    its cell of the CS exchange matrix with that cell's total over the territory; a
    « Signaler une erreur » link when ``report_url`` is given. The card is made of text nodes:
    no property (a code kept with ``--allow-unknown``) reaches the page as markup. A ready HTML
    card per part made a commune's map HTML about 30 % bigger (Andernos: 1.03 MB, 0.78 without).

    Args:
        year_from: first millésime.
        year_to: second millésime.
        tooltips: the layer's :class:`FeatureTooltips`, whose label table the card reads (the
            layer ships its labels once).
        report_url: target of the « Signaler » link, if any.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = {{ this.constants|tojson }};
{{ this._parent.get_name() }}.bindPopup(function (layer) {
    var c = {{ this.get_name() }}, p = layer.feature.properties;
    var labels = {{ this.tooltips.get_name() }}.labels;
    var card = document.createElement("div");
    card.style.cssText = "font:12px/1.4 sans-serif;min-width:220px";
    function add(tag, text, css) {
        var node = document.createElement(tag);
        node.textContent = text;
        if (css) { node.style.cssText = css; }
        return card.appendChild(node);
    }
    function text(t) { card.appendChild(document.createTextNode(t)); }
    function br() { card.appendChild(document.createElement("br")); }
    function label(code) { return code ? (labels[code] || code) : "non renseigné"; }
    function both(a, b) {
        text(label(a) + " "); add("small", a, "color:#666");
        text(" \u2192 " + label(b) + " "); add("small", b, "color:#666");
    }
    add("b", c.title); br();
    text("Couverture : "); both(p.cs_from, p.cs_to); br();
    text("Usage : "); both(p.us_from, p.us_to); br();
    text("Surface : " + p.surface); br();
    text("Cellule de la matrice (couverture) : " + label(p.cs_from) + " \u2192 "
         + label(p.cs_to) + ", " + p.cellule + " sur le territoire");
    if (c.report_url) {
        br();
        var link = add("a", "Signaler une erreur", "display:inline-block;margin-top:6px;"
            + "padding:2px 8px;border:1px solid #000091;border-radius:3px;color:#000091;"
            + "text-decoration:none");
        link.href = c.report_url;
        link.target = "_top";
    }
    return card;
}, {maxWidth: 360});
{% endmacro %}
""")

    def __init__(self, year_from: int, year_to: int, tooltips: FeatureTooltips,
                 report_url: str | None = None) -> None:
        super().__init__()
        self._name = "ChangeCards"
        self.tooltips = tooltips
        self.constants = {"title": f"Changement {year_from} → {year_to}",
                          "report_url": report_url or ""}


def changes_layer(light_changes: gpd.GeoDataFrame, year_from: int, year_to: int,
                  show: bool = True, report_url: str | None = None) -> folium.GeoJson:
    """Outlined layer of the parts whose CS or US changed between two millésimes.

    Args:
        light_changes: light polygons with ``code_cs_from``, ``code_us_from``, ``code_cs_to``,
            ``code_us_to`` (EPSG:4326).
        year_from: first millésime (for the layer name and tooltip).
        year_to: second millésime.
        show: whether the layer is on when the map opens.
        report_url: link of the card's « Signaler » button (the Signaler page), if any.
    """
    props = pd.DataFrame({"surface": [area_text(a) for a in light_changes["area_ha"]]},
                         index=light_changes.index).join(change_card_fields(light_changes))
    rows = [[f"Couverture {year_from} → {year_to}", "pair", "cs_from", "cs_to"],
            [f"Usage {year_from} → {year_to}", "pair", "us_from", "us_to"],
            ["Surface", "text", "surface"]]
    layer = GeoJsonLayer(
        _feature_collection(light_changes, props),
        name=f"Changements {year_from} → {year_to}",
        show=show,
        style_function=lambda _: {"fillColor": CHANGE_COLOR, "color": CHANGE_COLOR, "weight": 2,
                                  "fillOpacity": 0.15, "dashArray": "4 3"},
        style_key=lambda _: None,  # one style for every change part
        bounds=light_changes.total_bounds,
    )
    codes = pd.concat([light_changes[c] for c in
                       ("code_cs_from", "code_cs_to", "code_us_from", "code_us_to")])
    tooltips = FeatureTooltips(rows, codes)
    layer.add_child(tooltips)
    # click: the card (before/after, area, matrix cell, « Signaler »)
    layer.add_child(ChangeCards(year_from, year_to, tooltips, report_url))
    return layer


def ortho_layer(show: bool = False) -> folium.TileLayer:
    """IGN Géoplateforme orthophoto (WMTS, Web Mercator); needs a connection when shown."""
    return folium.TileLayer(tiles=IGN_ORTHO_URL, attr=IGN_ATTRIBUTION,
                            name="Orthophoto IGN (en ligne)", overlay=True, control=True,
                            show=show, max_zoom=19, max_native_zoom=19)


class Legend(MacroElement):  # type: ignore[misc]
    """A Leaflet control listing colour swatches with French labels.

    Rendered as a script (``L.control``), so it also shows inside streamlit-folium's iframe.

    Args:
        title: legend title.
        entries: ``(label, hex colour)`` pairs, in display order.
        position: Leaflet control corner.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
{{ this.get_name() }}.onAdd = function () {
    var div = L.DomUtil.create("div", "ocsge-legend");
    div.style.cssText = "background:rgba(255,255,255,.92);padding:5px 8px;border-radius:4px;"
        + "font:11px/1.3 sans-serif;max-width:300px;max-height:45vh;overflow-y:auto;"
        + "box-shadow:0 1px 4px #0004";
    div.innerHTML = {{ this.html|tojson }};
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
};
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, title: str, entries: list[tuple[str, str]],
                 position: str = "bottomleft", outline: str | None = None) -> None:
        super().__init__()
        self._name = "Legend"
        self.position = position
        swatch = ("display:inline-block;flex:none;width:11px;height:11px;margin:2px 5px 0 0;"
                  "vertical-align:top;")
        rows = "".join(
            f'<div title="{_escape(text)}" style="display:flex;margin:1px 0">'
            f'<span style="{swatch}background:{color};'
            f'border:1px solid #0003"></span><span>{_legend_text(text)}</span></div>'
            for text, color in entries
        )
        if outline:  # the change layer: dashed outline, as drawn on the map
            rows += (f'<div style="display:flex;margin:4px 0 1px"><span style="{swatch}'
                     f'border:2px dashed {CHANGE_COLOR};background:{CHANGE_COLOR}26"></span>'
                     f"<span>{_escape(outline)}</span></div>")
        # <details open>: the user can fold the legend away from the polygons
        self.html = (f'<details open><summary style="cursor:pointer;font-weight:bold">'
                     f"{_escape(title)}</summary>{rows}</details>")


class PlainBackground(MacroElement):  # type: ignore[misc]
    """Give the map container a light background colour: the offline basemap (no tiles)."""

    _template = Template("""
{% macro script(this, kwargs) %}
{{ this._parent.get_name() }}.getContainer().style.background = {{ this.color|tojson }};
{% endmacro %}
""")

    def __init__(self, color: str = BACKGROUND_COLOR) -> None:
        super().__init__()
        self._name = "PlainBackground"
        self.color = color


class MetricScale(MacroElement):  # type: ignore[misc]
    """Leaflet's scale bar in metres and kilometres only (no feet, no miles)."""

    _template = Template("""
{% macro script(this, kwargs) %}
L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


def _legend_text(text: str) -> str:
    """Legend row: the label, then its code in small grey (« Zones bâties ``CS1.1.1.1`` »)."""
    label, sep, code = text.rpartition(" (")
    if sep and code.endswith(")") and code[:2] in ("CS", "US"):
        return (f"{_escape(label)} <small style=\"color:#666\">{_escape(code[:-1])}</small>")
    return _escape(text)


def _escape(text: str) -> str:
    return html.escape(str(text), quote=True)


def legend_entries(light: gpd.GeoDataFrame, by: ColourBy) -> list[tuple[str, str]]:
    """``(label, colour)`` of the classes present, largest total area first."""
    classes = pd.Series(class_codes(light, by))
    area = pd.Series(light["area_ha"].to_numpy()).groupby(classes).sum()
    order = area.sort_values(ascending=False).index
    return [(_code_label(c) if by in ("cs", "us") else nomenclature.label(c),
             _color(c)) for c in order]
