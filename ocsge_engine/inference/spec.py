"""Architecture hyper-parameters of the U-Net (no torch import: model cards are read without it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UnetSpec:
    """Architecture hyper-parameters of a :class:`ResNetUnet`.

    Attributes:
        in_channels: number of input bands (5 for FLAIR RGB + NIR + elevation).
        classes: number of output logits (19 for the FLAIR-INC 15-class checkpoints).
        layers: BasicBlocks per ResNet stage (ResNet-34: ``(3, 4, 6, 3)``).
        widths: channels of stem and the four stages (ResNet-34: ``(64, 64, 128, 256, 512)``).
        decoder_channels: output channels of the five decoder blocks (smp default).
    """

    in_channels: int = 5
    classes: int = 19
    layers: tuple[int, int, int, int] = (3, 4, 6, 3)
    widths: tuple[int, int, int, int, int] = (64, 64, 128, 256, 512)
    decoder_channels: tuple[int, int, int, int, int] = (256, 128, 64, 32, 16)


RESNET34_SPEC = UnetSpec()
TINY_SPEC = UnetSpec(in_channels=5, classes=19, layers=(1, 1, 1, 1), widths=(8, 8, 16, 24, 32),
                     decoder_channels=(24, 16, 8, 8, 8))
