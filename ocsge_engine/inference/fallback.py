"""Rule-based fallback: a coarse land-cover map (« carte grossière (règles) ») without any model.

Used when no checkpoint is available (offline, no weights). It is **not** a model and every output
says so (``method = "fallback_rules"``, the label :data:`FALLBACK_LABEL_FR` on the page, in the
COG tags and in the statistics). Spectral rules cannot tell a roof from a road, a lawn from a tree
or a garden path from a car park, so the fallback outputs only what they can see, with the
coarsest OCS GE code that is true:

* ``végétation`` → CS2 (Avec végétation): with NIR, ``ndvi = (nir - red) / (nir + red) >=``
  :data:`NDVI_VEGETATION`; without NIR (plain RGB), the visible *excess green* index
  ``exg = (2 G - R - B) / (R + G + B) >=`` :data:`EXG_VEGETATION` with ``G >= B`` (so that cyan
  water is not green), and the run says which index was used;
* ``eau`` → CS1.2.2, only where a water test that rejects shadow passes, and only with NIR:
  NIR absorbed (``nir < 0.6 × brightness``), ``ndvi <`` :data:`NDVI_WATER`, blue dominant
  (``blue >= red + 20``) and **not shadow**. Shadow is local darkness: a pixel darker than
  :data:`SHADOW_RATIO` × the mean brightness of its 31 × 31 px neighbourhood (6 m at 20 cm), or
  darker than :data:`SHADOW_ABS`. The water mask is then opened with a 3 × 3 px square
  (isolated pixels are not water). Without NIR no water is reported (shadow, dark roofs and water
  are not separable in the visible);
* ``non végétal`` → CS1 (Sans végétation): everything else (roofs, roads, gravel, bare soil,
  shadow that is not vegetated).

Thresholds were set on the real Montpellier BD ORTHO tile (RGB + IRC, ``shared/data``): NDVI
0.12 keeps the dark conifer mass (NDVI 0.17) as vegetation; the water test finds the swimming
pool (≈ 200 px) and nothing else; ExG 0.04 agrees with NDVI ≥ 0.12 on 92 % of the pixels.
The elevation band is not used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ocsge_engine.inference.checkpoints import ClassInfo, ModelCard
from ocsge_engine.inference.spec import UnetSpec

logger = logging.getLogger(__name__)

VEGETATION, WATER, NON_VEGETATED = range(3)
NDVI_VEGETATION = 0.12
EXG_VEGETATION = 0.04
NDVI_WATER = -0.1
NIR_WATER_RATIO = 0.6
BLUE_WATER_EXCESS = 20.0
SHADOW_RATIO = 0.6
SHADOW_ABS = 40.0
SHADOW_WINDOW_PX = 31
FALLBACK_LABEL_FR = "carte grossière (règles)"
CLASS_LABELS_FR = {VEGETATION: "Végétation (règles)", WATER: "Eau (règles)",
                   NON_VEGETATED: "Non végétal (règles)"}

FALLBACK_CARD = ModelCard(
    name="fallback_rules",
    spec=UnetSpec(in_channels=5, classes=3),
    bands=("red", "green", "blue", "nir", "elevation"),
    means=(0.0,) * 5, stds=(1.0,) * 5,
    classes=(
        ClassInfo(VEGETATION, "vegetation (rule)", "#80C040", "CS2"),
        ClassInfo(WATER, "water (rule, NIR, not shadow)", "#00CCF2", "CS1.2.2"),
        ClassInfo(NON_VEGETATED, "non-vegetated (rule)", "#C8C8C8", "CS1"),
    ),
    licence="project code", source="rule-based fallback (NDVI or excess green, water test rejecting shadow)",
    method="fallback_rules",
)


def shadow_mask(brightness: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Shadow as local darkness: darker than 0.6 × the 31 px neighbourhood mean, or than 40.

    Args:
        brightness: ``(..., H, W)`` mean of R, G, B (0-255).

    >>> b = np.full((40, 40), 150.0, np.float32); b[18:22, 18:22] = 60.0
    >>> int(shadow_mask(b).sum())
    16
    """
    from scipy import ndimage  # lazy: about 1 s to import, only the rules use it

    size = [1] * (brightness.ndim - 2) + [SHADOW_WINDOW_PX, SHADOW_WINDOW_PX]
    local = ndimage.uniform_filter(brightness, size=size, mode="reflect")
    return (brightness < SHADOW_RATIO * local) | (brightness < SHADOW_ABS)


def classify_rules(bands: npt.NDArray[np.generic], has_nir: bool = True) -> npt.NDArray[np.uint8]:
    """Classify pixels with the fallback rules.

    Args:
        bands: ``(..., 5, H, W)`` red, green, blue, nir, elevation on 0-255 (float or uint8).
        has_nir: whether band 4 is a real NIR band (else the visible index is used, no water).

    Returns:
        ``(..., H, W)`` uint8 class indices of :data:`FALLBACK_CARD`.

    >>> px = np.zeros((5, 32, 32), np.float32); px[:3] = 150.0; px[3] = 150.0   # grey, NIR = red
    >>> px[:, :8, :8] = np.array([60, 110, 50, 160, 0])[:, None, None]           # a green, NIR-bright patch
    >>> out = classify_rules(px)
    >>> int(out[0, 0]), int(out[20, 20])
    (0, 2)
    """
    red, green, blue, nir = (bands[..., i, :, :].astype(np.float32) for i in range(4))
    brightness = (red + green + blue) / 3.0
    out = np.full(red.shape, NON_VEGETATED, dtype=np.uint8)
    if has_nir:
        total = nir + red
        ndvi = np.divide(nir - red, total, out=np.zeros_like(total), where=total > 0)
        from scipy import ndimage

        water = ((nir < NIR_WATER_RATIO * brightness) & (ndvi < NDVI_WATER)
                 & (blue >= red + BLUE_WATER_EXCESS) & ~shadow_mask(brightness))
        # open with a 3 × 3 px (0.6 m) square: isolated pixels (a car, a glint) are not water
        water = ndimage.binary_opening(water, structure=np.ones([1] * (water.ndim - 2) + [3, 3], bool))
        out[water] = WATER
        out[ndvi >= NDVI_VEGETATION] = VEGETATION
    else:
        total = red + green + blue
        exg = np.divide(2 * green - red - blue, total, out=np.zeros_like(total), where=total > 0)
        out[(exg >= EXG_VEGETATION) & (green >= blue)] = VEGETATION
    return out


def fallback_notes(has_nir: bool) -> tuple[list[str], list[str]]:
    """English and French notes describing what the fallback could and could not see."""
    en = ["no checkpoint: rule-based fallback (coarse map: vegetation / water / non-vegetated only, "
          "not a model prediction)"]
    fr = [f"{FALLBACK_LABEL_FR} : végétation, eau et non végétal seulement ; ce n'est pas une "
          "prédiction de modèle (bâti, routes, sols nus, arbres et pelouses ne sont pas distingués)"]
    if has_nir:
        en.append(f"vegetation from NDVI >= {NDVI_VEGETATION}; water needs low NIR, blue dominance and no shadow")
        fr.append("végétation repérée par le NDVI (proche infrarouge) ; eau seulement là où le proche "
                  "infrarouge est absorbé, hors ombres")
    else:
        en.append(f"no NIR band: vegetation from the visible excess-green index >= {EXG_VEGETATION}; "
                  "water not detected")
        fr.append("sans proche infrarouge : végétation repérée par un indice visible (excès de vert), "
                  "moins fiable ; l'eau n'est pas détectée")
    return en, fr


@dataclass
class FallbackPredictor:
    """Window predictor applying :func:`classify_rules` (same interface as the model predictor).

    Attributes:
        has_height: kept for compatibility; the rules do not use heights.
        has_nir: whether the NIR band is real (not the zero filler of an RGB image).
    """

    has_height: bool = False
    has_nir: bool = True
    card: ModelCard = FALLBACK_CARD
    device: str = "cpu"

    def __call__(self, batch: npt.NDArray[np.generic]
                 ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None]:
        """Return class indices ``(B, S, S)`` and no confidence for a raw ``(B, 5, S, S)`` batch."""
        return classify_rules(batch, self.has_nir), None
