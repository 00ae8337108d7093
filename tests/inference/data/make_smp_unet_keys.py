"""Write the expected state_dict keys and shapes of smp ``Unet("resnet34", in_channels=5, classes=19)``.

Derived by hand from the segmentation_models_pytorch source (qubvel-org/segmentation_models.pytorch,
0.3.x), WITHOUT importing smp or our own model:

* ``encoders/resnet.py``: ``ResNetEncoder(ResNet)`` = torchvision ResNet with ``fc`` and ``avgpool``
  deleted; resnet34 uses ``BasicBlock`` with ``layers=[3, 4, 6, 3]``, out_channels
  ``(3, 64, 64, 128, 256, 512)``; ``in_channels=5`` only patches ``conv1.weight`` to 5 input channels.
  torchvision BasicBlock keys: ``conv1, bn1, conv2, bn2`` and ``downsample.0`` (1×1 conv, no bias)
  / ``downsample.1`` (BN) on the first block of layers 2-4.
* ``decoders/unet/decoder.py``: ``UnetDecoder`` with decoder_channels ``(256, 128, 64, 32, 16)``;
  ``in = [512, 256, 128, 64, 32]``, ``skip = [256, 128, 64, 64, 0]``; ``center`` is ``nn.Identity``
  (center=False for resnet), attention is ``nn.Identity`` (attention_type=None): no keys.
  ``DecoderBlock.conv1/conv2`` are ``Conv2dReLU`` = ``Sequential(Conv2d(bias=False), BatchNorm2d, ReLU)``
  (``base/modules.py``).
* ``base/heads.py``: ``SegmentationHead`` = ``Sequential(Conv2d(16, classes, 3, padding=1), Identity,
  Activation)``.

Run: ``python tests/inference/data/make_smp_unet_keys.py`` (writes ``smp_unet_resnet34_in5_c19.txt``).
"""

from __future__ import annotations

from pathlib import Path

IN_CHANNELS = 5
CLASSES = 19


def bn(prefix: str, n: int) -> list[tuple[str, tuple[int, ...]]]:
    return [(f"{prefix}.weight", (n,)), (f"{prefix}.bias", (n,)), (f"{prefix}.running_mean", (n,)),
            (f"{prefix}.running_var", (n,)), (f"{prefix}.num_batches_tracked", ())]


def expected_keys(in_channels: int = IN_CHANNELS, classes: int = CLASSES) -> list[tuple[str, tuple[int, ...]]]:
    rows: list[tuple[str, tuple[int, ...]]] = [("encoder.conv1.weight", (64, in_channels, 7, 7))]
    rows += bn("encoder.bn1", 64)
    inplanes = 64
    for layer, (n_blocks, planes) in enumerate(zip([3, 4, 6, 3], [64, 128, 256, 512]), start=1):
        for b in range(n_blocks):
            p = f"encoder.layer{layer}.{b}"
            cin = inplanes if b == 0 else planes
            rows.append((f"{p}.conv1.weight", (planes, cin, 3, 3)))
            rows += bn(f"{p}.bn1", planes)
            rows.append((f"{p}.conv2.weight", (planes, planes, 3, 3)))
            rows += bn(f"{p}.bn2", planes)
            if b == 0 and layer > 1:
                rows.append((f"{p}.downsample.0.weight", (planes, inplanes, 1, 1)))
                rows += bn(f"{p}.downsample.1", planes)
        inplanes = planes
    for i, (cin, skip, cout) in enumerate(zip([512, 256, 128, 64, 32], [256, 128, 64, 64, 0],
                                              [256, 128, 64, 32, 16])):
        p = f"decoder.blocks.{i}"
        rows.append((f"{p}.conv1.0.weight", (cout, cin + skip, 3, 3)))
        rows += bn(f"{p}.conv1.1", cout)
        rows.append((f"{p}.conv2.0.weight", (cout, cout, 3, 3)))
        rows += bn(f"{p}.conv2.1", cout)
    rows += [("segmentation_head.0.weight", (classes, 16, 3, 3)), ("segmentation_head.0.bias", (classes,))]
    return rows


if __name__ == "__main__":
    out = Path(__file__).with_name("smp_unet_resnet34_in5_c19.txt")
    lines = [f"{k}\t{','.join(map(str, s))}" for k, s in expected_keys()]
    out.write_text("# key<TAB>shape (comma-separated; empty = scalar) -- see make_smp_unet_keys.py\n"
                   + "\n".join(lines) + "\n", encoding="utf-8")
    print(out, len(lines))
