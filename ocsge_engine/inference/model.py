"""U-Net with a ResNet encoder in plain torch, state-dict compatible with segmentation_models_pytorch.

The layout reproduces ``segmentation_models_pytorch.Unet("resnet34", in_channels=5, classes=N)``
(smp 0.3.x, ``decoders/unet/decoder.py``, ``base/modules.py``, ``base/heads.py``,
``encoders/resnet.py``) key for key and shape for shape, so that the public IGN FLAIR checkpoints
(``IGNF/FLAIR-INC_rgbie_15cl_resnet34-unet``) load with ``strict=True``:

* ``encoder.*``: torchvision ResNet without ``fc``/``avgpool`` (``conv1``, ``bn1``, ``layer1..4``
  made of BasicBlocks ``conv1/bn1/conv2/bn2`` and ``downsample.0/1`` on the first block of a stage);
  the first convolution takes ``in_channels`` bands.
* ``decoder.blocks.{0..4}``: nearest upsampling ×2, concatenation with the skip, then two
  ``Conv2dReLU`` = ``Sequential(conv (no bias), BatchNorm2d, ReLU)`` (keys ``conv1.0``, ``conv1.1``,
  ``conv2.0``, ``conv2.1``); ``center`` and ``attention`` are identities (no keys).
* ``segmentation_head.0``: a 3×3 convolution to ``classes`` logits.

A smaller width/depth (same layout, fewer channels) gives the seeded tiny test model; a
:class:`PixelNet` with a known receptive field serves the tiling-seam tests.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

# the spec lives in a torch-free module (model cards are read without torch); re-exported here
from ocsge_engine.inference.spec import RESNET34_SPEC, TINY_SPEC, UnetSpec

logger = logging.getLogger(__name__)


class BasicBlock(nn.Module):
    """torchvision ResNet BasicBlock (two 3×3 convolutions, identity or 1×1 shortcut)."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNetEncoder(nn.Module):
    """ResNet feature extractor returning the six smp feature maps (input, /2, /4, /8, /16, /32)."""

    def __init__(self, in_channels: int, layers: Sequence[int], widths: Sequence[int]) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, widths[0], 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        inplanes = widths[0]
        for i, (n_blocks, planes) in enumerate(zip(layers, widths[1:], strict=True)):
            stride = 1 if i == 0 else 2
            blocks = [BasicBlock(inplanes, planes, stride)]
            blocks += [BasicBlock(planes, planes) for _ in range(n_blocks - 1)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            inplanes = planes

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:  # noqa: D102
        f1 = self.relu(self.bn1(self.conv1(x)))
        f2 = self.layer1(self.maxpool(f1))
        f3 = self.layer2(f2)
        f4 = self.layer3(f3)
        f5 = self.layer4(f4)
        return [x, f1, f2, f3, f4, f5]


def _conv_bn_relu(in_channels: int, out_channels: int) -> nn.Sequential:
    """smp ``Conv2dReLU`` with batch norm: keys ``0.weight`` and ``1.{weight,bias,running_*}``."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class DecoderBlock(nn.Module):
    """smp U-Net decoder block: upsample ×2, concatenate the skip, two conv-BN-ReLU."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = _conv_bn_relu(in_channels + skip_channels, out_channels)
        self.conv2 = _conv_bn_relu(out_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:  # noqa: D102
        x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        if skip is not None:
            x = torch.cat([x, skip], dim=1)
        return self.conv2(self.conv1(x))


class UnetDecoder(nn.Module):
    """Five decoder blocks fed by the encoder features from deepest to shallowest."""

    def __init__(self, encoder_channels: Sequence[int], decoder_channels: Sequence[int]) -> None:
        super().__init__()
        # smp: drop the input-resolution feature, reverse, head = deepest feature.
        enc = list(encoder_channels[1:])[::-1]
        in_channels = [enc[0], *decoder_channels[:-1]]
        skip_channels = [*enc[1:], 0]
        self.blocks = nn.ModuleList(
            DecoderBlock(i, s, o) for i, s, o in zip(in_channels, skip_channels, decoder_channels,
                                                      strict=True))

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:  # noqa: D102
        feats = features[1:][::-1]
        x, skips = feats[0], feats[1:]
        for i, block in enumerate(self.blocks):
            x = block(x, skips[i] if i < len(skips) else None)
        return x


class ResNetUnet(nn.Module):
    """U-Net with a ResNet encoder; ``state_dict`` layout of smp ``Unet``.

    Args:
        spec: architecture; :data:`RESNET34_SPEC` matches ``smp.Unet("resnet34")``.

    Notes:
        Input height and width must be multiples of 32 (five stride-2 stages). A 512² 5-band
        patch uses about 0.3 GB of activations in float32 at batch 1 (inference mode).
    """

    def __init__(self, spec: UnetSpec = RESNET34_SPEC) -> None:
        super().__init__()
        self.spec = spec
        self.encoder = ResNetEncoder(spec.in_channels, spec.layers, spec.widths)
        encoder_channels = (spec.in_channels, spec.widths[0], *spec.widths[1:])
        self.decoder = UnetDecoder(encoder_channels, spec.decoder_channels)
        self.segmentation_head = nn.Sequential(
            nn.Conv2d(spec.decoder_channels[-1], spec.classes, 3, padding=1))

    @property
    def in_channels(self) -> int:
        """Number of input bands."""
        return self.spec.in_channels

    @property
    def classes(self) -> int:
        """Number of output logits."""
        return self.spec.classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return logits ``(N, classes, H, W)`` for a normalised batch ``(N, in_channels, H, W)``."""
        return self.segmentation_head(self.decoder(self.encoder(x)))


class PixelNet(nn.Module):
    """Margin-free toy segmenter with a known receptive field, for tiling tests.

    Two 3×3 convolutions and a 1×1 head: the receptive field is 5×5, so any margin ≥ 2 px makes
    tiled and one-shot predictions identical. Input size is free (no striding).

    Args:
        in_channels: input bands.
        classes: output logits.
        seed: seed of the random weights.
    """

    def __init__(self, in_channels: int = 5, classes: int = 19, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.body = nn.Sequential(nn.Conv2d(in_channels, 16, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(16, classes, 1))
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) * 0.5)
        self.in_channels = in_channels
        self.classes = classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return self.body(x)


def build_model(spec: UnetSpec) -> ResNetUnet:
    """Build an untrained :class:`ResNetUnet` in eval mode.

    Args:
        spec: architecture hyper-parameters.

    Returns:
        The model, in ``eval()`` mode, on CPU.
    """
    return ResNetUnet(spec).eval()


def seeded_model(spec: UnetSpec = TINY_SPEC, seed: int = 0) -> ResNetUnet:
    """Build a deterministic random model (tests, benchmarks); BN statistics are made non-trivial.

    Args:
        spec: architecture hyper-parameters.
        seed: torch seed.

    Returns:
        The model in eval mode; the same seed always gives the same weights.
    """
    generator = torch.Generator().manual_seed(seed)
    model = ResNetUnet(spec)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name.endswith("num_batches_tracked"):
                continue
            if name.endswith("running_var"):
                tensor.copy_(1.0 + 0.1 * torch.rand(tensor.shape, generator=generator))
            elif name.endswith("running_mean") or name.endswith(".bias"):
                tensor.copy_(0.05 * torch.randn(tensor.shape, generator=generator))
            elif tensor.ndim == 1:  # BN weight
                tensor.copy_(1.0 + 0.1 * torch.randn(tensor.shape, generator=generator))
            else:
                fan_in = tensor[0].numel()
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
    return model.eval()
