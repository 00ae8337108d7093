"""Compatibility alias: the headline figures live in the figures layer (:mod:`ocsge_engine.portrait`)."""

from ocsge_engine.portrait.figures import PortraitFigures, portrait_figures

__all__ = ["PortraitFigures", "portrait_figures"]
