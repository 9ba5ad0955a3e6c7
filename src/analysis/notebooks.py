"""The analyst's notebooks: shared set-up, the pipeline call each makes, and how they are executed.

The numbered notebooks in ``notebooks/`` are the source (edit them in Jupyter; nothing generates them). Each
one covers one step of the analyst's work and starts with :func:`setup` and :func:`prepare`:

- :func:`setup` makes output deterministic and shows the stages' warnings (``analysis`` loggers at WARNING
  and above, printed to stdout as ``WARNING <logger>: <message>``, with the data folders written as
  ``<raw>``, ``<processed>``, ``<reports>`` and no timestamps), so nbval can compare stored outputs.
- :func:`prepare` brings the stages before the notebook's own up to date through
  :func:`analysis.pipeline.run` (skipping what is unchanged, quietly: their warnings are shown in their own
  notebook), re-runs the notebook's own stages so their warnings are printed every time, then brings the later
  stages up to date (quietly). A notebook never
  computes what the pipeline does not: it reads the tables, or calls the same functions as the CLI.

Execution: :func:`execute` runs every notebook for a consultation with papermill into the internal folder
``<processed>/<consultation>/notebooks/`` (with HTML copies; they show unpublished answers, so they never go to
``reports/``); :func:`execute_in_place` re-executes the committed notebooks for their default parameters (the
sample) without timing metadata, so a second run leaves them byte-identical (``make notebooks``).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

from analysis import paths

log = logging.getLogger(__name__)

#: The ``analysis`` logger the notebooks' handler is attached to.
LOGGER = "analysis"


class _NotebookFormatter(logging.Formatter):
    """``LEVEL logger: message`` with the data folders and project root replaced by placeholders."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname} {record.name}: {record.getMessage()}"
        for folder, name in ((paths.data_raw(), "<raw>"), (paths.data_processed(), "<processed>"),
                             (paths.reports(), "<reports>"), (paths.project_root(), "<root>")):
            text = text.replace(str(folder), name)
        return text


class _NotebookHandler(logging.StreamHandler):
    """Writes to the current ``sys.stdout`` (the kernel's stream in a notebook)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:  # sys.stdout may be replaced after set-up
        self.setStream(sys.stdout)
        super().emit(record)


def setup() -> None:
    """Deterministic notebook output with the stages' warnings visible (idempotent).

    Pins BLAS to one thread (byte-identical floats, as in ``analysis run``), keeps models offline, turns
    progress bars off, silences library deprecation notices, sets pandas display options, and attaches one
    handler to the ``analysis`` logger that prints WARNING and above to stdout without timestamps.
    """
    from threadpoolctl import threadpool_limits

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning):
        warnings.filterwarnings("ignore", category=category)
    threadpool_limits(1, user_api="blas")

    import pandas as pd

    pd.set_option("display.width", 140)
    pd.set_option("display.max_colwidth", 120)
    pd.set_option("display.max_rows", 500)  # whole codebooks and tables, never cut
    pd.set_option("display.float_format", "{:.3f}".format)

    logger = logging.getLogger(LOGGER)
    for h in [h for h in logger.handlers if isinstance(h, _NotebookHandler)]:
        logger.removeHandler(h)
    handler = _NotebookHandler()
    handler.setLevel(logging.WARNING)
    handler.setFormatter(_NotebookFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Hide warnings while upstream stages are brought up to date (their own notebook shows them)."""
    logger = logging.getLogger(LOGGER)
    handlers = [h for h in logger.handlers if isinstance(h, _NotebookHandler)]
    levels = [h.level for h in handlers]
    for h in handlers:
        h.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for h, level in zip(handlers, levels, strict=True):
            h.setLevel(level)


def prepare(consultation: str, stages: Sequence[str] = ()):
    """Run the pipeline for a notebook: earlier stages if out of date, ``stages`` again, then later ones.

    Args:
        consultation: Consultation name under ``data/raw`` (the notebook's ``consultation`` parameter).
        stages: The notebook's own stages (pipeline names, e.g. ``("themes",)``). They are re-run so their
            warnings are printed on every execution; the pipeline's outputs are deterministic, so the tables
            are the same as those of ``analysis run``. Empty: only bring everything up to date.

    Returns:
        The consultation's :class:`analysis.config.ConsultationConfig`.
    """
    from analysis import pipeline
    from analysis.config import load_config

    order = [s.name for s in pipeline.STAGES]
    unknown = set(stages) - set(order)
    if unknown:
        raise ValueError(f"unknown stage(s) {sorted(unknown)}; known: {order}")
    first = min((order.index(s) for s in stages), default=len(order))
    with _quiet():
        pipeline.run(consultation, stages=order[:first] if stages else None)
    if stages:
        pipeline.run(consultation, stages=list(stages), force=True)
        with _quiet():  # later stages, so every table and report a notebook reads exists and is current
            pipeline.run(consultation)
    return load_config(paths.resolve_config(consultation))


def png(fig) -> bytes:
    """A figure as PNG bytes with no varying metadata (same bytes on every run)."""
    from analysis.charts import style
    from analysis.charts.draw import house_style

    buf = io.BytesIO()
    with house_style():
        fig.savefig(buf, format="png", dpi=style.DPI, metadata={"Software": None})
    return buf.getvalue()


def show(fig) -> None:
    """Display a matplotlib figure (from :mod:`analysis.charts.figures` or :func:`bar_chart`) inline."""
    from IPython.display import Image, display

    display(Image(data=png(fig), format="png"))


def show_chart(path: Path) -> None:
    """Display a chart file written by the report stage, with its alt text (the published bytes)."""
    from IPython.display import Image, display

    path = Path(path)
    display(Image(filename=str(path)))
    alt = path.with_name(path.stem + ".alt.txt")
    if alt.exists():
        # one write: print("Alt text:", x) writes three pieces, and the kernel may store them as two outputs
        print("Alt text: " + alt.read_text(encoding="utf-8").strip())


def bar_chart(values, *, title: str, xlabel: str):
    """A small horizontal bar chart of a stage table's counts (house style), for the notebooks.

    Args:
        values: A pandas Series: index = bar labels, values = counts (drawn top to bottom in order).
        title: Chart title.
        xlabel: Label of the value axis.

    Returns:
        The figure (display it with :func:`show`).
    """
    from analysis.charts import style
    from analysis.charts.draw import house_style, new_figure

    labels = [style.wrap(str(i)) for i in values.index]
    with house_style():
        fig = new_figure(1.2 + 0.35 * max(len(labels), 1))
        ax = fig.add_subplot(1, 1, 1)
        ys = list(range(len(labels)))[::-1]
        ax.barh(ys, [float(v) for v in values.to_numpy()], color=style.BAR_COLOUR)
        ax.set_yticks(ys, labels)
        for y, v in zip(ys, values.to_numpy(), strict=True):
            ax.text(float(v), y, f" {style.fmt_int(v)}", va="center")
        ax.set_title(style.wrap(title, style.TITLE_WRAP), loc="left")
        ax.set_xlabel(xlabel)
        ax.spines[["top", "right"]].set_visible(False)
    return fig


def notebook_paths(names: Sequence[str] | None = None) -> list[Path]:
    """The committed notebooks (``notebooks/NN_*.ipynb``), in order; ``names`` selects some by stem or name."""
    found = sorted((paths.project_root() / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if names:
        wanted = {Path(n).stem for n in names}
        missing = wanted - {p.stem for p in found}
        if missing:
            raise ValueError(f"no notebook(s) {sorted(missing)} in notebooks/")
        found = [p for p in found if p.stem in wanted]
    return found


def output_dir(consultation: str) -> Path:
    """Where :func:`execute` writes a consultation's executed notebooks (internal: unpublished answers)."""
    from analysis.config import load_config

    return paths.processed_dir(load_config(paths.resolve_config(consultation)).id) / "notebooks"


def _html(notebook: Path) -> Path:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook))
    out = notebook.with_suffix(".html")
    out.write_text(body, encoding="utf-8")
    return out


def execute(consultation: str, *, names: Sequence[str] | None = None, html: bool = True,
            timeout: int = 1800) -> list[Path]:
    """Execute the notebooks for one consultation with papermill into its internal notebooks folder.

    Args:
        consultation: Consultation name under ``data/raw`` (injected as the ``consultation`` parameter).
        names: Notebooks to run (stems such as ``03_themes``); default all, in order.
        html: Also write an HTML copy of each executed notebook (nbconvert).
        timeout: Seconds allowed per cell.

    Returns:
        The written paths (``.ipynb`` and ``.html``), under ``data/processed/<consultation>/notebooks/``.

    Raises:
        papermill.PapermillExecutionError: A cell failed (the partly executed notebook is still written).
    """
    import papermill

    paths.check_name(consultation)
    out_dir = output_dir(consultation)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for nb in notebook_paths(names):
        target = out_dir / nb.name
        papermill.execute_notebook(
            str(nb), str(target), parameters={"consultation": consultation}, kernel_name="python3",
            cwd=str(nb.parent), progress_bar=False, log_output=False, execution_timeout=timeout,
        )
        written.append(target)
        if html:
            written.append(_html(target))
        log.info("executed %s for %s", nb.name, consultation)
    return written


def execute_in_place(names: Sequence[str] | None = None, *, timeout: int = 1800) -> list[Path]:
    """Re-execute the committed notebooks in place with their own parameters (the sample), deterministically.

    Cells keep no timing metadata, so executing twice leaves the files byte-identical when the stage outputs
    did not change; these stored outputs are what nbval compares in CI.

    Returns:
        The executed notebook paths.
    """
    import nbformat
    from nbclient import NotebookClient

    done: list[Path] = []
    for path in notebook_paths(names):
        nb = nbformat.read(path, as_version=4)
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                                resources={"metadata": {"path": str(path.parent)}})
        client.execute()
        for cell in nb.cells:
            cell.metadata.pop("execution", None)
        nb.metadata.pop("papermill", None)
        nbformat.write(nb, path)
        done.append(path)
    return done
