"""On-demand land-cover segmentation of aerial imagery (FLAIR U-Net or rule-based fallback).

Public API: :func:`predict_image` (image → COG + OCS GE polygons + stats), :func:`load_checkpoint`,
:func:`load_model_card`, :class:`ResNetUnet`, and the comparisons of :mod:`.compare`.

The names are loaded on first use (PEP 562): importing a light submodule (``.imagery``,
``.ondemand`` for the dashboard's Prédire page) does not import torch, which only the model
(:mod:`.model`, and :mod:`.predict` when a checkpoint runs) needs.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ClassInfo": "checkpoints", "LoadedModel": "checkpoints", "ModelCard": "checkpoints",
    "load_checkpoint": "checkpoints", "load_model_card": "checkpoints", "resolve_card": "checkpoints",
    "agreement_matrix": "compare", "change_map": "compare", "changed_areas": "compare",
    "RESNET34_SPEC": "spec", "TINY_SPEC": "spec", "UnetSpec": "spec", "ResNetUnet": "model",
    "PredictionResult": "predict", "PredictSettings": "predict", "predict_image": "predict",
}

__all__ = [
    "ClassInfo", "LoadedModel", "ModelCard", "PredictSettings", "PredictionResult", "RESNET34_SPEC",
    "ResNetUnet", "TINY_SPEC", "UnetSpec", "agreement_matrix", "change_map", "changed_areas",
    "load_checkpoint", "load_model_card", "predict_image", "resolve_card",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
