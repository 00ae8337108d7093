"""The figure object: one value with everything needed to show, export and trust it.

Every headline figure of the product (pages, CLI, report, bundle, batch) is a :class:`Figure`
built once by the figures layer (:mod:`ocsge_engine.portrait`). A figure carries its value, unit,
French label, method, source, the years it uses, the share of the territory covered by the data
and whether the data behind it is synthetic. A figure without a value carries the French reason
(``missing``) instead of a confident zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ocsge_engine import fmt

SYNTHETIC_NOTE = "données synthétiques"


@dataclass(frozen=True)
class Figure:
    """One figure.

    Attributes:
        key: stable dotted key (``"artificialisation.net_ha"``), used by JSON/CSV exports and tests.
        value: the number, or ``None`` when it cannot be given (see ``missing``).
        unit: ``"ha"``, ``"%"`` (value is a share 0..1), ``"m²/hab/an"``, ``"hab"``…
        label: French label for people.
        method: short description of how it is computed (English, for analysts and logs).
        source: French source line (data and producer), shown under charts and in exports.
        years: millésimes or census years used.
        coverage: share (0..1) of the territory covered by the data used, ``None`` if not spatial.
        synthetic: the value depends on synthetic data (demo background).
        missing: French reason why ``value`` is ``None`` (« la population n'a pas augmenté »).
        decimals: display decimals (``None``: the unit's default).
        extra: JSON-ready details (per-class breakdowns…), optional.
    """

    key: str
    value: float | None
    unit: str
    label: str
    method: str
    source: str
    years: tuple[int, ...] = ()
    coverage: float | None = None
    synthetic: bool = False
    missing: str | None = None
    decimals: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def available(self) -> bool:
        """True when the figure has a value."""
        return self.value is not None and not fmt.is_missing(self.value)

    def display(self, signed: bool = False) -> str:
        """French text of the value with its unit, « — » when missing.

        >>> Figure("a", 1234.5, "ha", "Surface", "m", "s").display()
        '1\u202f234,5\u202fha'
        >>> Figure("a", None, "ha", "Surface", "m", "s", missing="non couvert").display()
        '—'
        """
        if not self.available:
            return fmt.MISSING
        if self.unit == "ha" and self.decimals is None:
            return fmt.hectares(self.value, signed)
        return fmt.with_unit(self.value, self.unit, self.decimals, signed)

    def source_line(self) -> str:
        """French provenance line: source, years, coverage, synthetic note."""
        parts = [self.source]
        if self.years:
            parts.append("millésimes/années " + ", ".join(str(y) for y in self.years))
        if self.coverage is not None and self.coverage < 0.999:
            parts.append(f"couverture {fmt.percent(self.coverage)} du territoire")
        if self.synthetic:
            parts.append(SYNTHETIC_NOTE)
        return " · ".join(p for p in parts if p)

    def with_value(self, value: float | None, missing: str | None = None) -> Figure:
        """Copy with another value (and reason when ``None``)."""
        return replace(self, value=value, missing=missing if value is None else None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        out: dict[str, Any] = {
            "key": self.key, "value": self.value, "unit": self.unit, "label": self.label,
            "method": self.method, "source": self.source, "years": list(self.years),
            "coverage": self.coverage, "synthetic": self.synthetic, "missing": self.missing,
            "display": self.display(),
        }
        if self.extra:
            out["extra"] = self.extra
        return out
