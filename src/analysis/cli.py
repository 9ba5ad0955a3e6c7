"""Command line: ``analysis --help`` / ``python -m analysis --help``.

``analysis run sample`` chains every stage (skipping stages whose inputs are unchanged) and finishes with the
publication guard; each stage also has its own command. ``analysis init-config EXPORT`` drafts a
``consultation.yml`` from an export so the analyst only corrects it.
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

Consultation = Annotated[str, typer.Argument(help="Consultation name under data/raw, or a path to its consultation.yml.")]
Force = Annotated[bool, typer.Option("--force", help="Re-run even when inputs are unchanged.")]


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every step.")] = False) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _fail(err: Exception) -> None:
    typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _run(consultation: str, stages: list[str] | None, force: bool) -> None:
    from analysis import pipeline

    try:
        pipeline.run(consultation, stages=stages, force=force, echo=lambda m: typer.echo(m, err=True))
    except (AnalysisError, FileNotFoundError, ValueError) as err:
        _fail(err)


@app.command()
def run(consultation: Consultation, force: Force = False) -> None:
    """Run the whole pipeline: raw → processed tables → reports, then the publication guard."""
    _run(consultation, None, force)
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
        cfg = load_config(_config_path(consultation))
        target = out or (_config_path(consultation).parent / "codebook.draft.yml")
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
        cfg = load_config(_config_path(consultation))
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


@app.command()
def guard(folder: Annotated[Path, typer.Argument(help="A reports folder to scan.")]) -> None:
    """Scan a reports folder for personal information; exit 1 if any is found."""
    from analysis.redaction.redact import guard as _guard

    try:
        _guard(folder)
    except AnalysisError as err:
        typer.secho(str(err), fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from None
    typer.echo(f"{folder}: no personal information found")


@app.command("init-config")
def init_config(
    export: Annotated[Path, typer.Argument(help="A survey export (CSV/XLSX) or a folder of submissions.")],
    fmt: Annotated[str | None, typer.Option("--format", help="Force the reader (default: detected).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
) -> None:
    """Draft a consultation.yml from an export; the analyst corrects the TODOs."""
    from analysis.ingest import draft_config

    try:
        text = draft_config(export, format=fmt)
    except (AnalysisError, FileNotFoundError) as err:
        _fail(err)
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"draft config written to {out}: check every TODO", err=True)
    else:
        typer.echo(text)


def _config_path(consultation: str) -> Path:
    p = Path(consultation)
    return p if p.suffix.lower() in (".yml", ".yaml") else paths.config_path(consultation)


def _consultation_id(consultation: str) -> str:
    from analysis.config import load_config

    return load_config(_config_path(consultation), check_files=False).id
