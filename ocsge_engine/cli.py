"""Command-line interface: ``python -m ocsge_engine <command>``.

Each subcommand parses its arguments, calls the public API and formats the output. Errors a user
can cause print one French line on stderr (``erreur : …``) and exit with code 2, never a
traceback: bad arguments (checked while parsing: département codes, CRS, dates, input files),
:class:`~ocsge_engine.errors.OcsgeError` from the engine, and operating-system errors on the
user's paths (missing file, no permission, disk full). ``-v`` logs the traceback for developers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import logging
import re
import sys
from collections.abc import Callable, Sequence
import typing
from pathlib import Path
from typing import Any

from ocsge_engine.config import get_settings
from ocsge_engine.errors import OcsgeError

logger = logging.getLogger("ocsge_engine")

Handler = Callable[[argparse.Namespace], int]

# argparse's English messages -> French (the English text stays in brackets for scripts).
_ARGPARSE_FR: tuple[tuple[str, str], ...] = (
    (r"the following arguments are required: (.*)", r"arguments obligatoires manquants : \1"),
    (r"argument (\S+): invalid choice: (.*?) \(choose from (.*)\)",
     r"argument \1 : valeur \2 non reconnue (choix possibles : \3)"),
    (r"argument (\S+): invalid (int|float) value: (.*)", r"argument \1 : nombre invalide \3"),
    (r"argument (\S+): expected one argument", r"argument \1 : une valeur est attendue"),
    (r"argument (\S+): not allowed with argument (\S+)",
     r"les arguments \1 et \2 s'excluent"),
    (r"one of the arguments (.*) is required", r"un des arguments \1 est obligatoire"),
    (r"unrecognized arguments: (.*)", r"arguments non reconnus : \1"),
    (r"argument (\S+): (.*)", r"argument \1 : \2"),
)
_ERRNO_FR: dict[int, str] = {
    errno.ENOENT: "fichier ou dossier introuvable", errno.EACCES: "accès refusé",
    errno.EPERM: "opération non permise", errno.EEXIST: "le chemin existe déjà",
    errno.ENOSPC: "disque plein", errno.EISDIR: "c'est un dossier, pas un fichier",
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.EROFS: "système de fichiers en lecture seule",
}


class FrenchArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one French line (exit 2), English in brackets."""

    def error(self, message: str) -> typing.NoReturn:  # noqa: D102
        french = message
        for pattern, replacement in _ARGPARSE_FR:
            if re.fullmatch(pattern, message, flags=re.DOTALL):
                french = re.sub(pattern, replacement, message, flags=re.DOTALL)
                break
        self.exit(2, f"erreur : {self.prog} : {french} (voir --help). [usage error: {message}]\n")


def _departement_arg(text: str) -> str:
    """``argparse`` type: a département code (``33``, ``2A``, ``971``), canonical."""
    from ocsge_engine.store.catalog import normalize_departement

    try:
        return normalize_departement(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"code de département invalide « {text[:20]} » (attendu : 33, 2A, 971…)") from None


def _departements_arg(text: str) -> list[str]:
    """``argparse`` type: comma-separated département codes."""
    return [_departement_arg(code.strip()) for code in text.split(",") if code.strip()]


def _crs_arg(text: str) -> str:
    """``argparse`` type: a CRS pyproj understands (``EPSG:2154``)."""
    import pyproj

    try:
        pyproj.CRS.from_user_input(text)
    except pyproj.exceptions.CRSError:
        raise argparse.ArgumentTypeError(
            f"système de coordonnées inconnu « {text[:40]} » (attendu par exemple EPSG:2154)"
        ) from None
    return text


def _date_arg(text: str) -> str:
    """``argparse`` type: a date ``YYYY-MM-DD``."""
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"date invalide « {text[:20]} » (attendu : AAAA-MM-JJ)") from None
    return text


def _input_file(text: str) -> Path:
    """``argparse`` type: an existing file."""
    path = Path(text).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"fichier introuvable : {text}")
    return path


def _tqdm_progress(desc: str) -> Callable[[float, str], None]:
    """Return a progress callback ``(fraction, message)`` drawing a tqdm bar on stderr.

    The bar is created on the first call, so a command that fails early prints only its error.
    """
    from tqdm import tqdm

    bars: list[tqdm] = []  # type: ignore[type-arg]

    def update(fraction: float, message: str) -> None:
        if not bars:
            bars.append(tqdm(total=100, desc=desc, unit="%", file=sys.stderr, leave=False))
        bar = bars[0]
        bar.n = round(100 * max(0.0, min(1.0, fraction)))
        bar.set_postfix_str(message[:40])
        bar.refresh()
        if fraction >= 1.0:
            bar.close()

    return update


def _add_store(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", type=Path, default=None,
                        help="store directory (default: $OCSGE_STORE_DIR or data/store)")


def _add_territory(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--territory", required=True,
                        help="commune:INSEE, epci:SIREN, departement:CODE or polygon:FILE")


def _add_years(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """``--from`` / ``--to`` millésimes; optional ones default to the territory's first/last."""
    default = "" if required else " (default: the territory's {})"
    parser.add_argument("--from", dest="year_from", type=int, required=required, default=None,
                        help="first millésime" + default.format("first"))
    parser.add_argument("--to", dest="year_to", type=int, required=required, default=None,
                        help="second millésime" + default.format("last"))


def _store_dir(args: argparse.Namespace) -> Path:
    return Path(args.store) if args.store else get_settings().store_dir


# --- ingest -------------------------------------------------------------------------------------

def _parser_ingest(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ingest", help="ingest IGN OCS GE deliveries (.7z, folder, GPKG, SHP)")
    p.add_argument("paths", nargs="+", type=Path)
    _add_store(p)
    p.add_argument("--allow-unknown", action="store_true",
                   help="keep features with codes outside the nomenclature")
    p.add_argument("--departement", default=None, type=_departement_arg,
                   help="override the detected département")
    p.add_argument("--millesime", default=None, help="override the detected millésime (YYYY or YYYY_YYYY)")
    p.add_argument("--force", action="store_true",
                   help="ingest again a file the store already holds (same SHA-256), e.g. to "
                        "store it in the current geometry form")
    p.set_defaults(handler=cmd_ingest)


def cmd_ingest(args: argparse.Namespace) -> int:
    """Ingest each PATH into the store and print one summary line per written partition."""
    from ocsge_engine.store.ingest import ingest_paths

    reports = ingest_paths(
        list(args.paths), _store_dir(args), allow_unknown=args.allow_unknown,
        departement=args.departement, millesime=args.millesime,
        progress=None if args.quiet else _tqdm_progress("ingest"), force=args.force,
    )
    for report in reports:
        print(report.summary())
    return 0


# --- download -----------------------------------------------------------------------------------

def _parser_download(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("download", help="download IGN deliveries from the URL list in data/reference")
    p.add_argument("--departement", required=True, type=_departement_arg)
    p.add_argument("--millesime", required=True, help="YYYY, or YYYY_YYYY for difference products")
    p.add_argument("--product", default="occupation_du_sol_et_zone_construite",
                   help="product column of ocsge_millesimes_by_departement.csv")
    p.add_argument("--dest", type=Path, default=Path("downloads"))
    p.set_defaults(handler=cmd_download)


def cmd_download(args: argparse.Namespace) -> int:
    """Download (resumable, size-checked) and print the local paths."""
    from ocsge_engine.io.download import download_delivery

    paths = download_delivery(args.departement, args.millesime, product=args.product,
                              dest_dir=args.dest,
                              progress=None if args.quiet else _tqdm_progress("download"))
    for path in paths:
        print(path)
    return 0


# --- demo ---------------------------------------------------------------------------------------

def _parser_demo(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("demo", help="build the SYBARVAL demo store (synthetic background, real changes)")
    _add_store(p)
    p.add_argument("--force", action="store_true", help="rebuild even if the demo is present")
    p.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    """Build the demo store deterministically."""
    from ocsge_engine.demo import build_demo_store

    report = build_demo_store(_store_dir(args), force=args.force,
                              progress=None if args.quiet else _tqdm_progress("demo"))
    print(report.summary())
    return 0


# --- flows --------------------------------------------------------------------------------------

def _parser_flows(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from ocsge_engine.flows.levels import BY_VALUES

    p = sub.add_parser("flows", help="exchange matrix of a territory between two millésimes")
    _add_store(p)
    _add_territory(p)
    _add_years(p)
    p.add_argument("--by", choices=(*BY_VALUES, "process"), default="anf",
                   help="level of the classes, or 'process' (named land-take processes)")
    p.add_argument("--processes", type=_input_file, default=None,
                   help="process table CSV for --by process (default: data/reference/processes.csv)")
    p.add_argument("--source", choices=("auto", "overlay", "diff"), default="auto",
                   help="overlay of both layers, IGN DIFF layer, or auto")
    p.add_argument("--format", choices=("csv", "json", "xlsx"), default="csv")
    p.add_argument("--out", type=Path, default=None, help="output file (required for xlsx)")
    p.set_defaults(handler=cmd_flows)


def cmd_flows(args: argparse.Namespace) -> int:
    """Print (or write) the tidy flows ``code_from,code_to,area_ha`` as CSV, JSON or XLSX."""
    from ocsge_engine.charts.export import matrix_json, matrix_xlsx, table_csv
    from ocsge_engine.flows import exchange_matrix
    from ocsge_engine.store import Store
    from ocsge_engine.territories import resolve_territory

    if args.format == "xlsx" and args.out is None:
        print("erreur : le format xlsx nécessite --out FICHIER.xlsx", file=sys.stderr)
        return 2
    store = Store.open(_store_dir(args))
    territory = resolve_territory(args.territory)  # once: a polygon file is read once
    _old_form_note(store, territory.departements, (args.year_from, args.year_to))
    if args.by == "process":
        return _flows_by_process(args, store, territory)
    matrix = exchange_matrix(store, territory, args.year_from,
                             args.year_to, by=args.by, source=args.source,
                             progress=None if args.quiet else _tqdm_progress("flows"),
                             fast=True)
    if args.format == "xlsx":
        matrix_xlsx(matrix, args.out)
    elif args.format == "json":
        text = matrix_json(matrix, territory=args.territory, path=args.out)
        if args.out is None:
            print(text)
    else:
        text = table_csv(matrix.table, path=args.out)
        if args.out is None:
            sys.stdout.write(text)
    return 0


def _old_form_note(store: Any, departements: tuple[str, ...], years: tuple[int, int]) -> None:
    """One French note on stderr when a partition the flows read was written before the
    current geometry form (same figures, slower): ``ingest --force`` writes it again."""
    old = store.old_form_partitions("occupation_sol", departements, years)
    if old:
        names = ", ".join(f"D{dep} {key}" for dep, key in old)
        logger.info("partitions %s are in an old geometry form: flows are slower", names)
        print(f"note : {names} enregistré(s) avant la forme unique des polygones ; les flux "
              "sont exacts mais plus lents. Pour les accélérer, enregistrez à nouveau : "
              "« ingest --force » sur le fichier livré (« demo --force » pour la "
              "démonstration).", file=sys.stderr)


def _flows_by_process(args: argparse.Namespace, store: Any, territory: Any) -> int:
    """``flows --by process``: area of each named process (``process,label_fr,area_ha``)."""
    import json

    from ocsge_engine.charts.export import table_csv
    from ocsge_engine.flows import exchange_matrix
    from ocsge_engine.flows.processes import (
        default_process_table,
        process_totals,
        read_process_table,
    )
    from ocsge_engine.io.atomic import atomic_write_bytes

    table = read_process_table(args.processes) if args.processes else default_process_table()
    matrix = exchange_matrix(store, territory, args.year_from,
                             args.year_to, by="cs_us", source=args.source,
                             progress=None if args.quiet else _tqdm_progress("flows"),
                             fast=True)
    totals = process_totals(matrix, table)
    if args.format == "xlsx":
        import io

        import pandas as pd

        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            totals.to_excel(writer, sheet_name="processus", index=False)
            table.rules.to_excel(writer, sheet_name="regles", index=False)
        atomic_write_bytes(args.out, buffer.getvalue())
    elif args.format == "json":
        record = {"territory": args.territory, "year_from": matrix.year_from,
                  "year_to": matrix.year_to, "by": "process", "source": matrix.source,
                  "processes": totals.to_dict(orient="records")}
        text = json.dumps(record, ensure_ascii=False, indent=2) + "\n"
        if args.out is not None:
            atomic_write_bytes(args.out, text.encode("utf-8"))
        else:
            sys.stdout.write(text)
    else:
        text = table_csv(totals, path=args.out)
        if args.out is None:
            sys.stdout.write(text)
    return 0


# --- predict ------------------------------------------------------------------------------------

def _parser_predict(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("predict", help="predict land cover on an image (FLAIR U-Net or rule-based fallback)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path, help="GeoTIFF/VRT: RGB, RGBN or RGBN+elevation")
    source.add_argument("--wms", action="store_true",
                        help="fetch the IGN orthophoto (RGB + IRC) of the territory's bbox online (needs --territory)")
    p.add_argument("--wms-resolution", type=float, default=0.2, help="pixel size of the --wms orthophoto (m)")
    p.add_argument("--wms-max-megapixels", type=float, default=25.0, help="refuse larger --wms areas")
    p.add_argument("--nir", type=Path, default=None, help="IRC image whose band 1 is near-infrared")
    p.add_argument("--elevation", type=Path, default=None, help="height raster (8-bit 0.2 m units or metres)")
    p.add_argument("--territory", default=None,
                   help="bbox:XMIN,YMIN,XMAX,YMAX[,EPSG], polygon:FILE, commune:INSEE… (default: whole image)")
    p.add_argument("--checkpoint", default=None,
                   help="model card (.yaml), card name in data/models, weights file, or 'auto' (best installed "
                        "card for the image's bands); none = rule-based fallback (coarse map)")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--confidence", action="store_true", help="(default for models) write the confidence COG")
    p.add_argument("--no-confidence", action="store_true", help="do not write the confidence COG")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                   help="CPU: bf16 needs AMX/AVX512-BF16 (else fp32, said); auto = bf16 when available")
    p.add_argument("--allow-test-model", action="store_true",
                   help="run a test-only card (random weights, e.g. tiny_test_unet)")
    p.add_argument("--min-area", type=float, default=10.0, help="minimum polygon area in m² (sieve)")
    p.add_argument("--crs", default=None, type=_crs_arg,
                   help="CRS to assume when the image has none (e.g. EPSG:2154)")
    p.set_defaults(handler=cmd_predict)


def cmd_predict(args: argparse.Namespace) -> int:
    """Predict, write the COG/GeoPackage/CSV into --out and print a summary with class stats."""
    from ocsge_engine.inference.predict import PredictSettings, predict_image, resolve_territory

    settings = PredictSettings(batch_size=args.batch_size, device=args.device, confidence=not args.no_confidence,
                               min_area_m2=args.min_area, precision=args.precision,
                               allow_test_model=args.allow_test_model)
    territory = resolve_territory(args.territory)
    if args.wms:
        from ocsge_engine.inference.wms import fetch_territory_orthophoto

        args.image = fetch_territory_orthophoto(territory, args.out / "orthophoto_ign.tif",
                                                resolution_m=args.wms_resolution,
                                                max_megapixels=args.wms_max_megapixels,
                                                progress=None if args.quiet else _tqdm_progress("orthophoto"))
        print(f"orthophoto: {args.image}")
    result = predict_image(args.image, territory, args.checkpoint, args.out,
                           None if args.quiet else _tqdm_progress("predict"), nir_path=args.nir,
                           elevation_path=args.elevation, crs=args.crs, settings=settings)
    print(f"method: {result.method} ({result.model_name}) on {result.device}, {result.n_windows} windows, "
          f"{result.elapsed_s:.1f} s")
    for line in predict_summary_lines(result):
        print(line)
    print(f"classes: {result.classes_path}\npolygons: {result.polygons_path} ({len(result.polygons)})")
    if result.confidence_path is not None:
        print(f"confidence: {result.confidence_path}")
    print(result.stats.drop(columns=["label_fr"], errors="ignore").to_string(index=False))
    return 0


def predict_summary_lines(result: object) -> list[str]:
    """What ran, in French: label, model card, precision, confidence summary, notes."""
    from ocsge_engine.inference.predict import confidence_text

    r: Any = result
    card = r.card
    lines = [f"résultat : {r.label_fr}"]
    if r.method == "model":
        sha = card.get("sha256") or ""
        check = {"card": "vérifiée (fiche)", "recorded": "identique à la première utilisation, non vérifiée",
                 "first_use": "enregistrée à la première utilisation, non vérifiée"}.get(card.get("sha256_source"), "")
        lines.append(f"modèle : {card['name']} ; bandes : {', '.join(card['bands'])} ; "
                     f"{card['n_classes']} classes ; licence : {card['licence']}")
        lines.append(f"poids : SHA-256 {sha[:16]}… {check} ; précision de calcul : {r.precision}")
        lines.append(f"confiance : {confidence_text(r.confidence_share)}")
    for note in r.notes_fr:
        lines.append(f"note : {note}")
    return lines


def _parser_evaluate(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("evaluate", help="compare a prediction with OCS GE on its grid: IoU, accuracy, confusion")
    p.add_argument("--prediction", required=True, type=Path, help="classes.tif written by predict")
    _add_store(p)
    _add_territory(p)
    p.add_argument("--year", required=True, type=int, help="OCS GE millésime to compare with")
    p.add_argument("--out", type=Path, default=None,
                   help="confusion matrix CSV (default: confusion_<year>.csv next to the prediction)")
    p.set_defaults(handler=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Print per-class IoU, overall accuracy and the confusion matrix; write the matrix as CSV."""
    from ocsge_engine.flows.exchange import resolve_territory
    from ocsge_engine.inference.evaluate import evaluate_on_store
    from ocsge_engine.io.atomic import atomic_write_bytes
    from ocsge_engine.store import Store

    store = Store.open(_store_dir(args))
    territory = resolve_territory(args.territory)
    evaluation = evaluate_on_store(args.prediction, store, territory, args.year)
    out = args.out or args.prediction.with_name(f"confusion_{args.year}.csv")
    atomic_write_bytes(out, evaluation.confusion_csv().encode("utf-8"))
    ha = evaluation.pixel_m2 / 1e4
    print(f"prediction: {evaluation.model} ({evaluation.method}) vs OCS GE {args.year} of {territory.id}")
    print(f"evaluated: {evaluation.evaluated_px} px ({evaluation.evaluated_px * ha:.4f} ha); "
          f"unmapped OCS GE codes: {evaluation.unmapped_px} px; without OCS GE: {evaluation.uncovered_px} px")
    print(f"overall accuracy: {evaluation.overall_accuracy:.4f}")
    print(evaluation.per_class.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print("confusion (rows: OCS GE, columns: prediction, pixels):")
    print(evaluation.confusion.to_string())
    print(f"confusion matrix: {out}")
    return 0


# --- indicators ---------------------------------------------------------------------------------

def _parser_indicators(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("indicators", help="indicators of a territory between two millésimes")
    _add_store(p)
    _add_territory(p)
    _add_years(p)
    p.add_argument("--source", choices=("auto", "ign", "matrix"), default="auto",
                   help="artificialisation from IGN artif layers, the decree matrix, or auto")
    p.add_argument("--no-thresholds", action="store_true",
                   help="decree matrix without the 2,500 m² / 50 m² thresholds")
    p.add_argument("--reduction", type=float, default=0.5, help="ZAN reduction (0.5 = -50 %%)")
    p.add_argument("--target-ha", type=float, default=None, help="custom ZAN target (ha)")
    p.add_argument("--projection", choices=("sparte", "periode"), default="sparte",
                   help="ZAN projection: sparte's published one (mean since 2021 x 9, default) "
                   "or the last years' mean continued to the end of 2030")
    p.add_argument("--compare", action="store_true",
                   help="add the comparison with neighbours and similar communes")
    p.add_argument("--peers", default=None, help="comma-separated INSEE codes of the neighbours")
    p.add_argument("--format", choices=("json", "csv"), default="json")
    p.add_argument("--out", type=Path, default=None, help="output file (default: stdout)")
    p.set_defaults(handler=cmd_indicators)


def cmd_indicators(args: argparse.Namespace) -> int:
    """Print (or write) the indicators as nested JSON or a flat ``key,value`` CSV."""
    import json

    from ocsge_engine.indicators import (
        IndicatorOptions,
        Thresholds,
        ZanOptions,
        territory_indicators,
    )
    from ocsge_engine.io.atomic import atomic_write_bytes
    from ocsge_engine.store import Store

    options = IndicatorOptions(
        source=args.source, thresholds=Thresholds(enabled=not args.no_thresholds),
        zan=ZanOptions(reduction=args.reduction, custom_target_ha=args.target_ha,
                       projection=args.projection),
        compare=args.compare,
        peers=tuple(c.strip() for c in args.peers.split(",")) if args.peers else None)
    result = territory_indicators(Store.open(_store_dir(args)), args.territory, args.year_from,
                                  args.year_to, options)
    if args.format == "json":
        text = json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n"
    else:
        from ocsge_engine.io.cells import csv_text

        text = csv_text(result.to_flat())
    if args.out is not None:
        atomic_write_bytes(args.out, text.encode("utf-8"))
    else:
        sys.stdout.write(text)
    return 0


# --- consumption and zoning imports --------------------------------------------------------------

def _parser_ingest_conso(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ingest-conso", help="import the Cerema NAF consumption file (one row per "
                       "commune: idcom, nafYYartZZ, artYYactZZ…)")
    p.add_argument("path", type=Path, help="CSV file in the Cerema layout")
    _add_store(p)
    p.add_argument("--source", default=None, help="source label stored with the rows")
    p.set_defaults(handler=cmd_ingest_conso)


def cmd_ingest_conso(args: argparse.Namespace) -> int:
    """Validate and store a Cerema consumption file; print one French summary line."""
    from ocsge_engine.indicators.conso import DEFAULT_SOURCE, ingest_conso
    from ocsge_engine.store import Store

    result = ingest_conso(Store.open(_store_dir(args), create=True), args.path,
                          args.source or DEFAULT_SOURCE)
    print(f"{result.source_file} : {result.communes} communes, années "
          f"{result.years[0]}–{result.years[-1]} ({result.source})")
    return 0


def _parser_ingest_zonage(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ingest-zonage", help="import a planning zoning layer (CNIG zone_urba: "
                       "TYPEZONE, LIBELLE, LIBELONG, IDURBA; GPKG, zipped shapefile or GeoJSON)")
    p.add_argument("path", type=Path, help="zone_urba layer file")
    _add_store(p)
    p.add_argument("--source", default=None, help="source label stored with the zones")
    p.set_defaults(handler=cmd_ingest_zonage)


def cmd_ingest_zonage(args: argparse.Namespace) -> int:
    """Validate and store a zoning layer; print one French summary line."""
    from ocsge_engine.indicators.zonage import DEFAULT_SOURCE, ingest_zonage
    from ocsge_engine.store import Store

    result = ingest_zonage(Store.open(_store_dir(args), create=True), args.path,
                           args.source or DEFAULT_SOURCE)
    print(f"{result.source_file} : {result.zones} zones ({result.summary()}), "
          f"documents {', '.join(result.documents)}")
    return 0


# --- batch --------------------------------------------------------------------------------------

def _parser_batch(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("batch", help="national scale on Dask: every commune's flows, batch prediction")
    bsub = p.add_subparsers(dest="batch_command", required=True)
    f = bsub.add_parser("flows", help="flows and indicators of every commune, one task per département and pair")
    _add_store(f)
    f.add_argument("--departements", default=None, type=_departements_arg,
                   help="comma-separated codes (default: all in the store)")
    f.add_argument("--scheduler", default=None, help="Dask scheduler address (default: a local cluster)")
    f.add_argument("--workers", type=int, default=None, help="local workers (default: one per core)")
    f.add_argument("--retries", type=int, default=2, help="automatic retries of a failed task")
    f.add_argument("--force", action="store_true", help="recompute partitions already up to date")
    f.add_argument("--no-sprawl", action="store_true", help="skip the sprawl indicators (about 2x faster)")
    p_pred = bsub.add_parser("predict", help="predict a large image set as COG tiles and a VRT")
    p_pred.add_argument("images", nargs="+", type=Path, help="GeoTIFF/VRT images (RGBN, + elevation)")
    p_pred.add_argument("--out", required=True, type=Path, help="output folder")
    p_pred.add_argument("--checkpoint", default=None, help="model card or name; none = rule-based fallback")
    p_pred.add_argument("--scheduler", default=None, help="Dask scheduler address (default: a local cluster)")
    p_pred.add_argument("--workers", type=int, default=None, help="local workers (default: one per core)")
    p_pred.add_argument("--block-px", type=int, default=4096, help="block side in pixels (one task each)")
    p_pred.add_argument("--batch-size", type=int, default=4)
    p_pred.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    p_pred.add_argument("--gpu", action="store_true", help="tasks need the worker resource GPU=1")
    p.set_defaults(handler=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    """Run ``batch flows`` or ``batch predict``; print the dashboard link and a summary.

    Exit code 1 when some partitions or blocks failed (the others are kept), 0 otherwise.
    """
    progress = None if args.quiet else _tqdm_progress(f"batch {args.batch_command}")
    if args.batch_command == "flows":
        from ocsge_engine.batch import BatchOptions, run_flows

        deps = args.departements or None
        report = run_flows(_store_dir(args), deps, scheduler=args.scheduler, n_workers=args.workers,
                           options=BatchOptions(sprawl=not args.no_sprawl), retries=args.retries,
                           force=args.force, progress=progress)
        print(f"dashboard: {report.dashboard_link}")
        for outcome in report.outcomes:
            key = outcome.key
            print(f"D{key.departement} {key.pair}: {outcome.status} ({outcome.n_communes} communes, "
                  f"{outcome.elapsed_s:.1f} s) {outcome.reason}".rstrip())
        print(report.summary())
        return 0 if report.ok else 1
    from ocsge_engine.batch.predict import predict_batch
    from ocsge_engine.inference.predict import PredictSettings

    settings = PredictSettings(batch_size=args.batch_size, device=args.device)
    result = predict_batch(list(args.images), args.out, args.checkpoint, scheduler=args.scheduler,
                           block_px=args.block_px, settings=settings, gpu=args.gpu,
                           progress=progress, n_workers=args.workers)
    print(f"dashboard: {result.dashboard_link}")
    print(f"{result.n_done} blocks predicted, {result.n_skipped} already done, {len(result.failed)} failed "
          f"in {result.elapsed_s:.1f} s")
    for name, error in result.failed:
        print(f"failed: {name}: {error}")
    for vrt in result.vrts:
        print(f"vrt: {vrt}")
    return 0 if not result.failed else 1


# --- report -------------------------------------------------------------------------------------

def _parser_report(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("report", help="reproducible ZIP bundle: portrait report, charts, data, "
                                      "changes layer, metadata")
    _add_store(p)
    _add_territory(p)
    _add_years(p, required=False)
    p.add_argument("--out", type=Path, required=True, help="output FILE.zip")
    p.add_argument("--date", default=None, type=_date_arg,
                   help="report date YYYY-MM-DD (default: undated)")
    p.add_argument("--processes", type=_input_file, default=None, help="process table CSV")
    p.add_argument("--min-disagreement-ha", type=float, default=0.5,
                   help="DIFF/overlay disagreement threshold of the pseudo-change (ha)")
    p.add_argument("--typology-resolution", type=float, default=10.0,
                   help="pixel size of the sprawl typology (m)")
    p.add_argument("--no-images", action="store_true", help="CSV only, no PNG/SVG")
    p.add_argument("--no-pdf", action="store_true", help="HTML report without its PDF")
    p.set_defaults(handler=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Write the bundle ZIP and print its path."""
    from ocsge_engine.errors import MillesimeError
    from ocsge_engine.territories import resolve_territory
    from ocsge_engine.report.bundle import BundleOptions, write_bundle
    from ocsge_engine.store import Store

    store = Store.open(_store_dir(args))
    territory = resolve_territory(args.territory)
    years = [int(y) for y in store.millesimes(territory)]
    year_from = args.year_from if args.year_from is not None else (years[0] if years else None)
    year_to = args.year_to if args.year_to is not None else (years[-1] if years else None)
    if year_from is None or year_to is None:
        raise MillesimeError(f"no millesime for {territory.id}",
                             "Ce territoire n'a aucun millésime dans la base.")
    processes = args.processes.read_text(encoding="utf-8-sig") if args.processes else None
    if not (args.no_images and args.no_pdf):  # after the user's input is checked
        from ocsge_engine.charts.render import prewarm

        prewarm()  # Chromium starts (seconds) while the bundle's modules load
    options = BundleOptions(date=args.date, processes_csv=processes,
                            min_disagreement_ha=args.min_disagreement_ha,
                            typology_resolution_m=args.typology_resolution,
                            images=not args.no_images, pdf=not args.no_pdf)
    path = write_bundle(store, territory, year_from, year_to, args.out, options,
                        None if args.quiet else _tqdm_progress("report"))
    print(path)
    return 0


# --- parser -------------------------------------------------------------------------------------

PARSERS: list[Callable[[argparse._SubParsersAction], None]] = [  # type: ignore[type-arg]
    _parser_ingest, _parser_download, _parser_demo, _parser_flows,
    _parser_predict, _parser_evaluate, _parser_indicators, _parser_batch, _parser_report,
    _parser_ingest_conso, _parser_ingest_zonage,
]


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every subcommand."""
    parser = FrenchArgumentParser(prog="python -m ocsge_engine", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings only, no progress bar")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in PARSERS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code (2 for user errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    handler: Handler = args.handler
    try:
        return handler(args)
    except OcsgeError as err:
        # One line for the user (French), the English cause in brackets for logs and scripts.
        print(f"erreur : {err.user_message} [{type(err).__name__}: {err}]", file=sys.stderr)
        logger.debug("user error", exc_info=True)
        return 2
    except OSError as err:  # the user's paths: missing, not writable, disk full…
        reason = _ERRNO_FR.get(err.errno or 0, "erreur d'entrée/sortie")
        where = f" : {err.filename}" if err.filename else ""
        print(f"erreur : {reason}{where}. [{type(err).__name__}: {err}]", file=sys.stderr)
        logger.debug("operating-system error", exc_info=True)
        return 2
