"""Benchmark of on-demand prediction: ResNet-34 U-Net, 5 bands, 512² windows.

Self-contained: needs only the repository (random seeded weights, synthetic imagery generated on
the fly), prints one JSON document on stdout, finishes in under 3 minutes on 2 CPU cores.

Modes:
* ``patches``: model throughput on 512² 5-band patches (patches/s) and peak RSS;
* ``end-to-end``: :func:`predict_image` on synthetic GeoTIFFs of growing size (each in a fresh
  process, so its peak RSS is its own): windows/s of the inference stage, total time, peak RSS,
  and the seconds per pipeline stage (``stages_s``: read / read_cpu summed over reader threads,
  wait_read, predict, write / write_cpu, wait_write);
* ``null``: the same end-to-end runs with a trivial predictor instead of the R34 (``--null-model``
  does the same to ``end-to-end``), so the non-model stages are what is measured: on CPU a numpy
  identity-like rule (class = red ≥ 128), on CUDA a 1×1 convolution (5 → 19) through the real
  :class:`ModelPredictor` (uint8 host→device copy from pinned memory, normalisation, softmax,
  argmax, uint8 back). Its windows/s is the ceiling the pipeline allows the model;
* ``precision``: the product's :class:`ModelPredictor` (normalisation, softmax, argmax,
  confidence) with the seeded R34 on real imagery (the Montpellier tile, mirrored to 512² and
  shifted for each patch), batch 1, in ``fp32``, ``fp32`` + channels_last and ``bf16`` (autocast +
  channels_last), each in a fresh process (its own peak RSS): patches/s, RSS, argmax agreement
  with fp32, CPU seconds per patch (what a busy machine cannot hide), and the time for 1 km² at
  20 cm (400 windows of 512 px with a 128 px margin). bf16
  runs even where the CPU lacks AMX/AVX512-BF16 (``native_bf16: false``: emulated, slower);
* ``seams``: fits the R34 for a few steps to the rule-based map of the real Montpellier tile
  (so its predictions are local, as a trained model's), then compares a 512/128 tiled prediction
  of a 3×3 mirrored mosaic with a one-shot prediction: agreement and seam edge rates.

Usage::

    .venv/bin/python benchmarks/bench_inference.py                    # patches + end-to-end, CPU
    .venv/bin/python benchmarks/bench_inference.py --device cuda      # same on GPU (AMP, batch 32)
    .venv/bin/python benchmarks/bench_inference.py --mode seams
    .venv/bin/python benchmarks/bench_inference.py --mode null --sides 4096,8192   # pipeline only, CPU
    .venv/bin/python benchmarks/bench_inference.py --mode precision --patches 24   # fp32 vs bf16, CPU
    # GPU check, one command (< 5 min on an H100):
    python benchmarks/bench_inference.py --mode patches,end-to-end,null --device cuda --batch 32 \
        --threads 16 --sides 4096,8192,12288
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import importlib.util  # noqa: E402

import torch  # noqa: E402

# model.py needs only torch: load it by path so the patches mode runs on a bare GPU machine
# (no rasterio/geopandas there); the other modes import the full package.
_spec = importlib.util.spec_from_file_location("_ocsge_model", REPO / "ocsge_engine" / "inference" / "model.py")
assert _spec is not None and _spec.loader is not None
_model = importlib.util.module_from_spec(_spec)
sys.modules["_ocsge_model"] = _model
_spec.loader.exec_module(_model)
RESNET34_SPEC, seeded_model = _model.RESNET34_SPEC, _model.seeded_model


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def bench_patches(device: str, batch: int, n_batches: int, threads: int) -> dict[str, object]:
    """Forward passes of the R34 U-Net on random 512² 5-band patches."""
    torch.set_num_threads(threads)
    model = seeded_model(RESNET34_SPEC, seed=0).to(device)
    x = torch.randn(batch, 5, 512, 512, device=device)
    amp = device == "cuda"
    with torch.inference_mode(), torch.autocast(device_type="cuda", dtype=torch.float16, enabled=amp):
        model(x).argmax(1)  # warm-up (cudnn autotune, allocator)
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(n_batches):
            out = model(x).argmax(1).to(torch.uint8)
        if device == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - t0
    assert out.shape == (batch, 512, 512)
    result: dict[str, object] = {"mode": "patches", "device": device, "batch": batch, "patches": batch * n_batches,
                                 "seconds": round(elapsed, 2), "patches_per_s": round(batch * n_batches / elapsed, 3),
                                 "peak_rss_mb": round(_peak_rss_mb(), 1), "threads": threads, "amp": amp}
    if device == "cuda":
        result["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return result


WINDOWS_PER_KM2 = 400  # ceil(5000 / 256)² windows of 512 px, margin 128, for 1 km² at 20 cm


def _montpellier_patches(n: int) -> np.ndarray:
    """``n`` 512² 5-band uint8 patches of the real tile (R, G, B, NIR, zero height), shifted."""
    import rasterio

    folder = REPO.parent / "shared" / "data" / "ortho_montpellier_20cm"
    if not folder.exists():
        folder = Path("/work/shared/data/ortho_montpellier_20cm")
    with rasterio.open(folder / "test_data_rgb.tif") as rgb, rasterio.open(folder / "test_data_irc.tif") as irc:
        tile = np.concatenate([rgb.read(), irc.read(1)[None], np.zeros((1, 252, 252), np.uint8)])
    big = np.pad(tile, ((0, 0), (260, 260), (260, 260)), mode="symmetric")
    return np.stack([big[:, (17 * i) % 260:(17 * i) % 260 + 512, (29 * i) % 260:(29 * i) % 260 + 512]
                     for i in range(n)])


def _precision_child(args: tuple[str, int, int]) -> dict[str, object]:
    """One precision in a fresh process: warm-up, then ``n`` patches one at a time."""
    variant, n, threads = args
    torch.set_num_threads(threads)
    from ocsge_engine.inference.checkpoints import LoadedModel, load_model_card
    from ocsge_engine.inference.predict import ModelPredictor, cpu_bf16_support

    card = load_model_card(REPO / "data" / "models" / "flair_inc_rgbie_15cl_resnet34_unet.yaml")
    model = seeded_model(RESNET34_SPEC, seed=0)
    predictor = ModelPredictor(LoadedModel(card, model, "seeded", False), "cpu",
                               "bf16" if variant == "bf16" else "fp32")
    if variant == "fp32_channels_last":
        model.to(memory_format=torch.channels_last)
    patches = _montpellier_patches(n)
    predictor(patches[:1])  # warm-up (oneDNN primitive creation)
    classes = np.empty((n, 512, 512), np.uint8)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        batch = patches[i:i + 1]
        if variant == "fp32_channels_last":
            x = torch.from_numpy(batch).float().contiguous(memory_format=torch.channels_last)
            classes[i] = predictor(x)[0][0]
        else:
            classes[i] = predictor(batch)[0][0]
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    rate = n / elapsed
    return {"variant": variant, "patches": n, "seconds": round(elapsed, 2), "patches_per_s": round(rate, 3),
            "cpu_s_per_patch": round(cpu / n, 2),
            "peak_rss_mb": round(_peak_rss_mb(), 1), "native_bf16": cpu_bf16_support(),
            "km2_at_20cm_s": round(WINDOWS_PER_KM2 / rate, 1), "classes": classes}


def bench_precision(n: int, threads: int, variants: list[str]) -> dict[str, object]:
    """fp32 vs bf16 on the seeded R34: speed, RSS, argmax agreement with fp32."""
    ctx = mp.get_context("spawn")
    runs = []
    for variant in variants:
        with ctx.Pool(1) as pool:
            runs.append(pool.map(_precision_child, [(variant, n, threads)])[0])
        print(json.dumps({k: v for k, v in runs[-1].items() if k != "classes"}), file=sys.stderr, flush=True)
    reference = runs[0]["classes"]
    for run in runs:
        run["agreement_with_fp32"] = round(float((run.pop("classes") == reference).mean()), 5)
    with open("/proc/cpuinfo", encoding="utf-8") as fh:
        model_name = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").exists() else []
    return {"mode": "precision", "cpu": model_name, "loadavg_after": load, "threads": threads, "runs": runs}


def _synthetic_image(path: Path, side: int, seed: int = 0) -> None:
    """Write a ``side²`` 5-band uint8 GeoTIFF in strips (blocky random land cover + noise)."""
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(seed)
    profile = dict(driver="GTiff", width=side, height=side, count=5, dtype="uint8", crs="EPSG:2154",
                   transform=from_origin(700000, 6600000, 0.2, 0.2), tiled=True, blockxsize=256, blockysize=256)
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, side, 256):
            h = min(256, side - row)
            blocks = rng.integers(0, 256, size=(5, h // 32 + 1, side // 32 + 1), dtype=np.uint8)
            strip = np.kron(blocks, np.ones((32, 32), np.uint8))[:, :h, :side]
            noise = rng.integers(0, 16, size=strip.shape, dtype=np.uint8)
            dst.write(strip // 2 + noise, window=rasterio.windows.Window(0, row, side, h))


class _NullPredictor:
    """Trivial CPU predictor: class = (red ≥ 128); touches every pixel once, no model."""

    device = "cpu"

    def __init__(self) -> None:
        from ocsge_engine.inference.fallback import FALLBACK_CARD

        self.card = FALLBACK_CARD

    def __call__(self, batch: np.ndarray) -> tuple[np.ndarray, None]:
        return (batch[:, 0] >= 128).astype(np.uint8), None


def _null_predictor(device: str, card_path: str) -> object:
    if device == "cpu":
        return _NullPredictor()
    from ocsge_engine.inference.checkpoints import LoadedModel, load_model_card
    from ocsge_engine.inference.predict import ModelPredictor

    torch.manual_seed(0)
    model = torch.nn.Conv2d(5, 19, kernel_size=1)
    return ModelPredictor(LoadedModel(load_model_card(Path(card_path)), model, "", False), device)


def _e2e_child(args: tuple[str, int, str, int, int, str, bool, bool, int]) -> dict[str, object]:
    image_path, side, device, batch, threads, card_path, vectorize, null, readers = args
    from ocsge_engine.inference import predict as predict_module

    torch.set_num_threads(threads)
    if null:
        predictor = _null_predictor(device, card_path)
        predict_module._make_predictor = lambda *a, **k: (predictor, None)  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        res = predict_module.predict_image(
            Path(image_path), checkpoint=Path(card_path), out_dir=Path(tmp) / "out",
            settings=predict_module.PredictSettings(device=device, batch_size=batch, vectorize=vectorize,
                                                    readers=readers))
        n = res.n_windows
        return {"side_px": side, "area_ha": round((side * 0.2) ** 2 / 1e4, 2), "windows": n,
                "model": "null" if null else "r34",
                "inference_s": round(res.timings_s["inference"], 2),
                "windows_per_s": round(n / res.timings_s["inference"], 1),
                "postprocess_s": round(res.timings_s["postprocess"], 2), "total_s": round(res.elapsed_s, 2),
                "polygons": len(res.polygons), "peak_rss_mb": round(_peak_rss_mb(), 1),
                "stages_s": res.stages_s,
                "ms_per_window": {k: round(1e3 * v / n, 3) for k, v in res.stages_s.items()}}


def bench_end_to_end(device: str, batch: int, threads: int, sides: list[int], vectorize: bool,
                     models: tuple[bool, ...] = (False,), readers: int = 0) -> dict[str, object]:
    """predict_image on growing synthetic images, each run in a fresh process (own peak RSS).

    ``models``: for each image, one run per entry (``False`` = R34, ``True`` = null predictor).
    """
    import yaml

    from ocsge_engine.inference.checkpoints import sha256_file

    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "r34.pt"
        torch.save(seeded_model(RESNET34_SPEC, seed=0).state_dict(), weights)
        card = yaml.safe_load((REPO / "data/models/flair_inc_rgbie_15cl_resnet34_unet.yaml").read_text())
        card["weights"] = {"file": str(weights), "sha256": sha256_file(weights)}
        card_path = Path(tmp) / "card.yaml"
        card_path.write_text(yaml.safe_dump(card))
        ctx = mp.get_context("spawn")
        runs = []
        for side in sides:
            image = Path(tmp) / f"image_{side}.tif"
            t0 = time.perf_counter()
            _synthetic_image(image, side)
            logging.getLogger(__name__).info("image %d px written in %.1f s", side, time.perf_counter() - t0)
            for null in models:
                with ctx.Pool(1) as pool:
                    runs.append(pool.map(_e2e_child, [(str(image), side, device, batch, threads, str(card_path),
                                                       vectorize, null, readers)])[0])
                print(json.dumps(runs[-1]), file=sys.stderr, flush=True)  # partial figures if cut short
            image.unlink()
    return {"mode": "end-to-end", "device": device, "batch": batch, "threads": threads, "vectorize": vectorize,
            "readers": readers or "auto", "runs": runs}


def bench_seams(threads: int, steps: int) -> dict[str, object]:
    """Fit the R34 to the rule map of the real tile, then tiled (512/128) vs one-shot on a mosaic."""
    import rasterio

    from ocsge_engine.inference.checkpoints import LoadedModel, load_model_card
    from ocsge_engine.inference.fallback import classify_rules
    from ocsge_engine.inference.predict import ModelPredictor, predict_array
    from ocsge_engine.inference.tiling import seam_edge_rate

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    folder = REPO.parent / "shared" / "data" / "ortho_montpellier_20cm"
    with rasterio.open(folder / "test_data_rgb.tif") as rgb, rasterio.open(folder / "test_data_irc.tif") as irc:
        tile = np.concatenate([rgb.read().astype(np.float32), irc.read([1]).astype(np.float32),
                               np.zeros((1, 252, 252), np.float32)])
    mosaic = np.concatenate([np.concatenate([tile, tile[:, :, ::-1], tile], axis=2)] * 1, axis=1)
    mosaic = np.concatenate([mosaic, mosaic[:, ::-1, :], mosaic], axis=1)  # 756 × 756, 3×3 windows
    target = torch.from_numpy(classify_rules(mosaic, has_height=False).astype(np.int64))
    card = load_model_card(REPO / "data/models/flair_inc_rgbie_15cl_resnet34_unet.yaml")
    model = seeded_model(RESNET34_SPEC, seed=0)
    mean, std = torch.tensor(card.means).view(1, -1, 1, 1), torch.tensor(card.stds).view(1, -1, 1, 1)
    x_all = (torch.from_numpy(mosaic)[None] - mean) / std
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(steps):
        rows, cols = rng.integers(0, 756 - 128, 4), rng.integers(0, 756 - 128, 4)
        x = torch.cat([x_all[:, :, r:r + 128, c:c + 128] for r, c in zip(rows, cols)])
        y = torch.stack([target[r:r + 128, c:c + 128] for r, c in zip(rows, cols)])
        loss = torch.nn.functional.cross_entropy(model(x)[:, :6], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    train_s = time.perf_counter() - t0
    predictor = ModelPredictor(LoadedModel(card, model.eval(), "", False))
    # the distilled model only uses logits 0-5; deactivate nothing else, compare raw argmax
    t1 = time.perf_counter()
    tiled = predict_array(predictor, mosaic, tiled=True, window_px=512, margin_px=128, batch_size=2)
    one_shot = predict_array(predictor, mosaic, tiled=False, margin_px=128)
    seam, other = seam_edge_rate(tiled, 256)
    seam_1, other_1 = seam_edge_rate(one_shot, 256)
    return {"mode": "seams", "train_steps": steps, "train_s": round(train_s, 1), "final_loss": round(float(loss.detach()), 3),
            "fit_to_rules": round(float((one_shot == target.numpy()).mean()), 3),
            "agreement_tiled_vs_one_shot": round(float((tiled == one_shot).mean()), 4),
            "seam_edge_rate_tiled": round(seam, 4), "other_edge_rate_tiled": round(other, 4),
            "seam_edge_rate_one_shot": round(seam_1, 4), "other_edge_rate_one_shot": round(other_1, 4),
            "predict_s": round(time.perf_counter() - t1, 1), "peak_rss_mb": round(_peak_rss_mb(), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", default="all",
                        help="comma-separated: all, patches, end-to-end, null, seams (all = patches,end-to-end)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=None, help="default 1 on CPU, 32 on GPU")
    parser.add_argument("--sides", default=None, help="end-to-end image sides in px, comma-separated")
    parser.add_argument("--vectorize", action="store_true", help="include polygonisation in end-to-end")
    parser.add_argument("--null-model", action="store_true",
                        help="end-to-end with a trivial predictor instead of the R34 (same as --mode null)")
    parser.add_argument("--readers", type=int, default=0, help="reader threads (0 = auto)")
    parser.add_argument("--steps", type=int, default=60, help="training steps of the seams mode")
    parser.add_argument("--patches", type=int, default=24, help="patches per variant of the precision mode")
    parser.add_argument("--variants", default="fp32,fp32_channels_last,bf16",
                        help="precision mode variants (the first is the agreement reference)")
    args = parser.parse_args()
    modes = set(args.mode.split(","))
    if "all" in modes:
        modes |= {"patches", "end-to-end"}
    if args.null_model and "end-to-end" in modes:
        modes = (modes - {"end-to-end"}) | {"null"}
    unknown = modes - {"all", "patches", "end-to-end", "null", "seams", "precision"}
    if unknown:
        parser.error(f"unknown mode(s) {sorted(unknown)}")
    gpu = args.device != "cpu"
    batch = args.batch or (32 if gpu else 1)
    sides = [int(s) for s in args.sides.split(",")] if args.sides else ([2048, 4096, 8192] if gpu else [384, 768, 1280])
    report: dict[str, object] = {"machine": {"platform": platform.platform(), "cpus": mp.cpu_count(),
                                             "torch": torch.__version__,
                                             "gpu": torch.cuda.get_device_name(0) if args.device == "cuda" else None}}
    results = []
    if "patches" in modes:
        results.append(bench_patches(args.device, batch, 20 if gpu else 6, args.threads))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    models = tuple(flag for flag, mode in ((False, "end-to-end"), (True, "null")) if mode in modes)
    if models:
        e2e_batch = args.batch or (32 if gpu else 2)  # CPU R34: batch 2 keeps RSS < 1 GB
        results.append(bench_end_to_end(args.device, e2e_batch, args.threads, sides, args.vectorize, models,
                                        args.readers))
    if "seams" in modes:
        results.append(bench_seams(args.threads, args.steps))
    if "precision" in modes:
        results.append(bench_precision(args.patches, args.threads, args.variants.split(",")))
    report["results"] = results
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
