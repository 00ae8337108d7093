"""Rule-based fallback classifier: a coarse land-cover map without any trained model.

Used when no checkpoint is available (offline, no weights). It is **not** a model and every output
says so (``method = "fallback_rules"``). Per pixel, on 0-255 bands:

* ``ndvi = (nir - red) / (nir + red)`` (0 when both are 0);
* ``brightness = (red + green + blue) / 3``;
* ``height_m = elevation * 0.2`` (FLAIR 8-bit elevation convention) when an elevation band is given.

Rules, first match wins (thresholds chosen on BD ORTHO IRC radiometry; documented in
docs/inference.md):

1. water: ``ndvi < -0.05`` and ``nir < 60`` → CS1.2.2;
2. vegetation (``ndvi >= 0.2``): woody if ``height_m >= 2`` → CS2.1.1.1, else herbaceous → CS2.2.1
   (without height every vegetated pixel is herbaceous: trees cannot be told from grass);
3. built: ``height_m >= 2.5`` → CS1.1.1.1 (only with a height band);
4. bare soil: ``brightness >= 170`` and ``ndvi >= 0.05`` → CS1.2.1;
5. everything else (low NDVI, not high): impervious → CS1.1.1.2.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ocsge_engine.inference.checkpoints import ClassInfo, ModelCard
from ocsge_engine.inference.model import UnetSpec

logger = logging.getLogger(__name__)

WATER, WOODY, HERBACEOUS, BUILT, BARE, IMPERVIOUS = range(6)
NDVI_WATER = -0.05
NIR_WATER_MAX = 60.0
NDVI_VEGETATION = 0.2
HEIGHT_WOODY_M = 2.0
HEIGHT_BUILT_M = 2.5
BRIGHTNESS_BARE = 170.0
NDVI_BARE = 0.05
ELEVATION_UNIT_M = 0.2

FALLBACK_CARD = ModelCard(
    name="fallback_rules_ndvi",
    spec=UnetSpec(in_channels=5, classes=6),
    bands=("red", "green", "blue", "nir", "elevation"),
    means=(0.0,) * 5, stds=(1.0,) * 5,
    classes=(
        ClassInfo(WATER, "water (rule)", "#00CCF2", "CS1.2.2"),
        ClassInfo(WOODY, "woody vegetation (rule, needs height)", "#80FF00", "CS2.1.1.1"),
        ClassInfo(HERBACEOUS, "herbaceous / vegetation (rule)", "#CCF24D", "CS2.2.1"),
        ClassInfo(BUILT, "built (rule, needs height)", "#FF377A", "CS1.1.1.1"),
        ClassInfo(BARE, "bare soil (rule)", "#CCCCCC", "CS1.2.1"),
        ClassInfo(IMPERVIOUS, "impervious (rule)", "#FF9191", "CS1.1.1.2"),
    ),
    licence="project code", source="rule-based fallback (NDVI, brightness, height)",
    method="fallback_rules",
)


def classify_rules(bands: npt.NDArray[np.float32], has_height: bool) -> npt.NDArray[np.uint8]:
    """Classify pixels with the fallback rules.

    Args:
        bands: ``(..., 5, H, W)`` array of red, green, blue, nir, elevation on 0-255.
        has_height: whether the elevation band carries real heights (else it is ignored).

    Returns:
        ``(..., H, W)`` uint8 class indices of :data:`FALLBACK_CARD`.

    >>> px = np.array([[[30.]], [[30.]], [[30.]], [[20.]], [[0.]]], dtype=np.float32)  # dark, nir<red
    >>> int(classify_rules(px, has_height=False)[0, 0])
    0
    """
    red, green, blue, nir, elev = (bands[..., i, :, :].astype(np.float32) for i in range(5))
    total = nir + red
    ndvi = np.divide(nir - red, total, out=np.zeros_like(total), where=total > 0)
    brightness = (red + green + blue) / 3.0
    height = elev * ELEVATION_UNIT_M if has_height else np.zeros_like(elev)
    out = np.full(red.shape, IMPERVIOUS, dtype=np.uint8)
    out[(brightness >= BRIGHTNESS_BARE) & (ndvi >= NDVI_BARE)] = BARE
    out[height >= HEIGHT_BUILT_M] = BUILT
    vegetation = ndvi >= NDVI_VEGETATION
    out[vegetation] = HERBACEOUS
    out[vegetation & (height >= HEIGHT_WOODY_M)] = WOODY
    out[(ndvi < NDVI_WATER) & (nir < NIR_WATER_MAX)] = WATER
    return out


@dataclass
class FallbackPredictor:
    """Window predictor applying :func:`classify_rules` (same interface as the model predictor).

    Attributes:
        has_height: whether the elevation band is real (not the zero filler).
    """

    has_height: bool = False
    card: ModelCard = FALLBACK_CARD
    device: str = "cpu"

    def __call__(self, batch: npt.NDArray[np.float32]
                 ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None]:
        """Return class indices ``(B, S, S)`` and no confidence for a raw ``(B, 5, S, S)`` batch."""
        return classify_rules(batch, self.has_height), None
