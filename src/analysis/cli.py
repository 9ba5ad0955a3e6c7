"""Command line: ``analysis --help`` / ``python -m analysis --help``.

``analysis run sample`` chains every stage (skipping stages whose inputs are unchanged) and finishes with the
publication guard; each stage also has its own command. ``analysis init-config EXPORT`` drafts a
``consultation.yml`` from an export so the analyst only corrects it.

A consultation argument is a plain name (a folder under ``data/raw``) or a path to a ``consultation.yml``
inside ``data/raw``; anything else (``../x``, ``/etc``, ``a/b``, ``.hidden``) stops the command with an error
naming the value before anything is read (:func:`analysis.paths.resolve_config`).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from analysis import paths
from analysis.errors import AnalysisError

app = typer.Typer(
    help="Offline consultation analysis: ingest, campaigns, themes, positions, counts, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
themes_app = typer.Typer(help="Theme discovery and the analyst's codebook.", no_args_is_help=True)
positions_app = typer.Typer(help="Positions (support / oppose) and active-learning coding.", no_args_is_help=True)
app.add_typer(themes_app, name="themes")
app.add_typer(positions_app, name="positions")
evaluate_app = typer.Typer(help="Measure the analysis against human coding.", no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")


@evaluate_app.command("themes")
def evaluate_themes(
    folder: Annotated[Path, typer.Argument(help="Folder with answers.csv (id, question, text, codes) and codebook.yml.")],
    k: Annotated[str, typer.Option("--k", help="Coded answers per theme, comma-separated (same rows scored for all).")] = "0,5,20",
    seed: Annotated[int, typer.Option(help="Seed of the draws.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Also write summary.csv and per_theme.csv here.")] = None,
    backend: Annotated[str, typer.Option(help="tfidf (default) or minilm (the optional local all-MiniLM-L6-v2).")] = "tfidf",
    finetune: Annotated[str, typer.Option(help="off or setfit (with --backend minilm: tune it on each k's codes).")] = "off",
) -> None:
    """Score theme assignment on a coded dataset with k coded answers per theme (docs/user_guide.md)."""
    from analysis.config import ThemeSettings
    from analysis.themes.evaluate import evaluate, load_folder

    try:
        if backend not in ("tfidf", "minilm") or finetune not in ("off", "setfit"):
            raise ValueError(f"--backend must be tfidf or minilm and --finetune off or setfit, not {backend!r} / {finetune!r}")
        settings = ThemeSettings(finetune=finetune) if backend == "tfidf" else ThemeSettings(
            backend="sentence-transformers", model="all-MiniLM-L6-v2", finetune=finetune)
        summary, per_theme, _ = evaluate(load_folder(folder), [int(x) for x in k.split(",") if x.strip()], seed=seed,
                                         settings=settings)
    except (AnalysisError, ValueError) as err:
        _fail(err)
    typer.echo(summary.round(3).to_string(index=False))
    if out:
        out.mkdir(parents=True, exist_ok=True)
        summary.to_csv(out / "summary.csv", index=False)
        per_theme.to_csv(out / "per_theme.csv", index=False)
        typer.echo(f"written to {out}", err=True)


def _fail(err: Exception) -> None:
    typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _check_consultation(value: str) -> str:
    """Argument callback: refuse a consultation name or config path that leaves ``data/raw``."""
    try:
        paths.resolve_config(value)
    except AnalysisError as err:
        _fail(err)
    return value


Consultation = Annotated[str, typer.Argument(
    help="Consultation name (a folder under data/raw), or a path to its consultation.yml inside data/raw.",
    callback=_check_consultation,
)]
Force = Annotated[bool, typer.Option("--force", help="Re-run even when inputs are unchanged.")]
Engine = Annotated[str | None, typer.Option(
    "--engine", help="Where independent work is computed: local or dask (default: settings.engine).")]
Scheduler = Annotated[str | None, typer.Option(
    "--scheduler", help="An existing Dask scheduler's address (tcp://host:8786); implies --engine dask. "
    "Without it the dask engine starts a LocalCluster.")]


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every step.")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _run(consultation: str, stages: list[str] | None, force: bool, engine: str | None = None,
         scheduler: str | None = None) -> None:
    from analysis import pipeline

    try:
        pipeline.run(consultation, stages=stages, force=force, echo=lambda m: typer.echo(m, err=True),
                     engine=engine, scheduler=scheduler)
    except (AnalysisError, FileNotFoundError, ValueError) as err:
        _fail(err)


@app.command()
def run(consultation: Consultation, force: Force = False, engine: Engine = None,
        scheduler: Scheduler = None) -> None:
    """Run the whole pipeline: raw → processed tables → reports, then the publication guard."""
    _run(consultation, None, force, engine, scheduler)
    cid = _consultation_id(consultation)
    typer.echo(f"reports written to {paths.reports_dir(cid)}")


@app.command()
def ingest(consultation: Consultation, force: Force = False) -> None:
    """Read the consultation's exports into core tables, rejects and the ledger."""
    _run(consultation, ["ingest"], force)


@app.command()
def campaigns(consultation: Consultation, force: Force = False) -> None:
    """Redact personal information and detect form-letter campaigns."""
    _run(consultation, ["campaigns"], force)


@themes_app.command("assign")
def themes_assign(consultation: Consultation, force: Force = False) -> None:
    """Assign themes (with codebook.yml if present, else discovered topics)."""
    _run(consultation, ["themes"], force)


@themes_app.command("draft")
def themes_draft(
    consultation: Consultation,
    out: Annotated[Path | None, typer.Option(help="Where to write the draft (default: data/raw/<c>/codebook.draft.yml).")] = None,
) -> None:
    """Discover themes and draft a codebook for the analyst to edit and save as codebook.yml."""
    from analysis.config import load_config
    from analysis.themes.stage import draft_codebook_for

    try:
        cfg = load_config(paths.resolve_config(consultation))
        target = out or (paths.resolve_config(consultation).parent / "codebook.draft.yml")
        text = draft_codebook_for(cfg, processed_dir=paths.processed_dir(cfg.id))
        target.write_text(text, encoding="utf-8")
    except (AnalysisError, FileNotFoundError) as err:
        _fail(err)
    typer.echo(f"draft codebook written to {target}: edit it, then save as codebook.yml")


@positions_app.command("assign")
def positions_assign(consultation: Consultation, force: Force = False) -> None:
    """Positions from closed answers and the text-stance model."""
    _run(consultation, ["positions"], force)


@positions_app.command("propose")
def positions_propose(
    consultation: Consultation,
    n: Annotated[int, typer.Option("-n", help="How many answers to propose.")] = 20,
) -> None:
    """Propose the next answers an analyst should code (active learning)."""
    from analysis.config import load_config
    from analysis.positions.stage import propose_for_consultation

    try:
        cfg = load_config(paths.resolve_config(consultation))
        df = propose_for_consultation(cfg, processed_dir=paths.processed_dir(cfg.id), n=n)
    except (AnalysisError, FileNotFoundError) as err:
        _fail(err)
    typer.echo(df.to_csv(index=False))


@app.command()
def counts(consultation: Consultation, force: Force = False) -> None:
    """Count positions and themes (both count modes) into out_counts."""
    _run(consultation, ["counts"], force)


@app.command()
def report(consultation: Consultation, force: Force = False) -> None:
    """Write charts, summary (md + html) and the workbook, then run the publication guard."""
    _run(consultation, ["report"], force)


@app.command("we-did")
def we_did(consultation: Consultation) -> None:
    """Write the "We did" template (we_did.md, one heading per question) into the consultation's raw folder."""
    from analysis.config import load_config
    from analysis.report.we_did import WE_DID_FILE, we_did_template

    cfg_path = paths.resolve_config(consultation)
    target = Path(cfg_path).parent / WE_DID_FILE
    if target.exists():
        _fail(FileExistsError(f"{target} exists already: edit it (nothing was overwritten)"))
    target.write_text(we_did_template(load_config(cfg_path, check_files=False)), encoding="utf-8")
    typer.echo(f"wrote {target}: fill it in, then run `analysis report {consultation}`")


@app.command()
def notebooks(
    consultation: Annotated[str, typer.Argument(help="Consultation name (a folder under data/raw).")] = "sample",
    in_place: Annotated[bool, typer.Option(
        "--in-place", help="Re-execute the committed notebooks in notebooks/ for the sample (make notebooks).")] = False,
    only: Annotated[list[str] | None, typer.Option("--only", help="Run only this notebook (e.g. 03_themes); repeat.")] = None,
) -> None:
    """Execute the analyst notebooks (papermill) into data/processed/<c>/notebooks/, with HTML copies."""
    from analysis import notebooks as nbs

    try:
        written = nbs.execute_in_place(only) if in_place else nbs.execute(_check_consultation(consultation), names=only)
    except (AnalysisError, ValueError) as err:
        _fail(err)
    for p in written:
        typer.echo(f"executed {p}")


@app.command()
def guard(
    folder: Annotated[Path, typer.Argument(help="A reports folder to scan.")],
    processed: Annotated[Path | None, typer.Option(
        help="The consultation's processed folder: also check that no respondent's name or email, nor the "
             "organisation of one who did not consent to be named, is published.")] = None,
) -> None:
    """Scan a reports folder for personal information; exit 1 if any is found or a file cannot be read."""
    from analysis.redaction.guard import guard as _guard

    try:
        _guard(folder, processed)
    except AnalysisError as err:
        typer.secho(str(err), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"{folder}: no personal information found")


@app.command("export-table")
def export_table(
    consultation: Consultation,
    table: Annotated[str, typer.Argument(help="An internal table, e.g. core_answers_clean (see docs/architecture.md).")],
    out: Annotated[Path, typer.Option(help="The CSV file to write.")],
) -> None:
    """Write one internal (Parquet) table of a consultation as CSV, to open in a spreadsheet.

    Internal tables can hold personal information and the text of respondents who refused publication:
    keep the CSV out of anything published.
    """
    from analysis import paths
    from analysis.schemas import SCHEMAS
    from analysis.tables import export_csv

    if table not in SCHEMAS:
        _fail(ValueError(f"unknown table {table!r}; known: {', '.join(sorted(SCHEMAS))}"))
    try:
        path = export_csv(table, paths.processed_dir(_consultation_id(consultation)), out)
    except (AnalysisError, FileNotFoundError) as err:
        _fail(err)
    typer.echo(f"{table} written to {path} (internal: may hold personal information)")


@app.command("init-config")
def init_config(
    export: Annotated[Path, typer.Argument(help="A survey export (CSV/XLSX) or a folder of submissions.")],
    fmt: Annotated[str | None, typer.Option("--format", help="Force the reader (default: detected).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
    delimiter: Annotated[str | None, typer.Option(
        help="Force the CSV separator (';', ',', '|', 'tab'; default: detected); written to the draft.")] = None,
    encoding: Annotated[str | None, typer.Option(
        help="Force the text encoding (e.g. utf-8, cp1252; default: detected); written to the draft.")] = None,
) -> None:
    """Draft a consultation.yml from an export; the analyst corrects the TODOs."""
    from analysis.ingest import draft_config

    try:
        text = draft_config(export, format=fmt, delimiter=delimiter, encoding=encoding)
    except (AnalysisError, FileNotFoundError) as err:
        _fail(err)
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"draft config written to {out}: check every TODO", err=True)
    else:
        typer.echo(text)


def main() -> None:
    """The ``analysis`` command: :data:`app`, then leave without tearing the interpreter down.

    A run leaves hundreds of imported modules and their objects; Python's finalization then collects and frees
    them one by one (0.6 s after the last line of ``analysis run sample``, measured: mostly the garbage
    collector's last passes). The command's work is done by then, so this process ends at once instead, after
    what a normal exit still does: the ``atexit`` functions (logging's flush, :mod:`multiprocessing`'s joins,
    ``weakref.finalize`` callbacks) and flushing standard output and error. An exception other than
    :class:`SystemExit` propagates as usual.
    """
    try:
        app()
        code: object = 0
    except SystemExit as done:
        code = done.code
    _exit_now(code)


def _exit_now(code: object) -> None:
    """End the process with ``code`` as :func:`sys.exit` would, skipping the interpreter's teardown."""
    import atexit
    import os

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): printed, status 1
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed pipe: what the normal exit would also lose
            status = status or 120  # Python's own status when flushing standard output fails at exit
    os._exit(status & 0xFF)


def _consultation_id(consultation: str) -> str:
    from analysis.config import load_config

    return load_config(paths.resolve_config(consultation), check_files=False).id
