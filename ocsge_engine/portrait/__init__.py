"""The figures layer: every headline figure computed once, as :class:`Figure` objects.

Pages, the CLI, the report, the bundle and the batch read figures from here; none recomputes one.
"""

from ocsge_engine.portrait.figure import SYNTHETIC_NOTE, Figure
from ocsge_engine.portrait.figures import (
    PortraitFigures,
    Provenance,
    portrait_figures,
    provenance,
)

__all__ = ["SYNTHETIC_NOTE", "Figure", "PortraitFigures", "Provenance", "portrait_figures",
           "provenance"]
