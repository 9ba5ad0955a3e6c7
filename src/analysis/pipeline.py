"""Chain the stages: raw → processed → reports, re-running only what changed.

Each stage is ``module.run(cfg, raw_dir=..., processed_dir=...)`` (the report stage also takes
``reports_dir``): a function of its declared inputs that writes its outputs. Before running a stage the
pipeline hashes its inputs (the config file, the raw files it reads, the tables it reads and the source of the
stage's own modules); when the hash equals the one recorded after the last successful run and the recorded
outputs still exist, the stage is skipped. So editing ``codebook.yml`` re-runs themes and what depends on them,
not ingest or campaigns. ``force=True`` re-runs everything.

The manifest (``<processed>/cache/stages.json``) also records, per stage, which input hashes produced its
outputs, so every output can be traced to the versions of the analyst's files it used.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import importlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from threadpoolctl import threadpool_limits

from analysis import engine as engine_mod
from analysis import paths, stageproc
from analysis.config import ConsultationConfig, load_config
from analysis.errors import AnalysisError
from analysis.hashing import sha256_file
from analysis.memory import arrow_jemalloc, small_pages, trim_heap

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stage:
    """One pipeline stage.

    Attributes:
        name: Stage name (also the CLI sub-command).
        package: The stage package's import name; the pipeline imports it when the stage runs (:attr:`module`)
            and calls its ``run``, so a run whose stages are up to date imports none of them.
        tables_in: Processed tables the stage reads (missing optional ones are hashed as absent; ``*``: all).
        raw_in: Files under the consultation's raw folder the stage reads (globs allowed; ``*sources*`` means
            every configured source file).
        needs_reports: The stage writes under the reports folder.
        tables_if: ``(table, only_with)`` pairs: the stage reads ``table`` only when the table ``only_with``
            exists (positions read ``core_answer_themes`` only for Pol.is statements), so the pipeline hashes
            ``table`` only then, and a change to it alone does not re-run the stage otherwise.
        starts_with: An earlier stage beside which this one can start work that does not read that stage's
            outputs: just before that stage runs, the pipeline enters the package's ``start_early(cfg,
            raw_dir=..., processed_dir=...)`` context (which may start computing on the second core: the
            positions' fits, the report's chart worker and its imports) and leaves it once this stage ran or
            was skipped (or the run failed). The stage's ``run`` uses such a result only when it was computed
            from the inputs it sees, so outputs never depend on it.
    """

    name: str
    package: str
    tables_in: tuple[str, ...] = ()
    raw_in: tuple[str, ...] = ()
    needs_reports: bool = False
    tables_if: tuple[tuple[str, str], ...] = ()
    starts_with: str | None = None

    @property
    def module(self) -> ModuleType:
        """The stage package (imported on first use)."""
        return importlib.import_module(self.package)


STAGES: tuple[Stage, ...] = (
    Stage("ingest", "analysis.ingest", (), ("*sources*",)),
    Stage("redaction", "analysis.redaction", ("core_answers", "core_responses", "core_questions"), ()),
    Stage("campaigns", "analysis.campaigns", ("core_answers_redacted", "core_questions"), ()),
    Stage(
        "themes",
        "analysis.themes",
        ("core_answers_clean", "core_analyst_tags", "core_responses", "core_questions"),
        ("codebook.yml", "overrides.csv"),
    ),
    Stage(
        "positions",
        "analysis.positions",
        ("core_answers_clean", "core_answers", "core_questions", "core_responses", "core_statement_votes"),
        ("analyst_positions.csv",),
        # the themes feed only ``out_theme_support``, which exists for Pol.is statements (votes) alone
        tables_if=(("core_answer_themes", "core_statement_votes"),),
        starts_with="themes",  # the positions do not read the themes: fitted meanwhile in a second process
    ),
    Stage(
        "counts",
        "analysis.counts",
        ("*",),
        (),
    ),
    Stage(
        "report",
        "analysis.report",
        ("*",),
        ("README.md", "ATTRIBUTION.md", "we_did.md"),
        needs_reports=True,
        starts_with="counts",  # the chart worker's imports (analysis.charts.parallel), paid while the counts run
    ),
)


def _hash_tree(path: Path) -> str:
    if path.is_symlink():  # never read through a link (ingest rejects it): it is identified by where it points
        return hashlib.sha256(f"symlink:{os.readlink(path)}".encode()).hexdigest()
    if path.is_file():
        return sha256_file(path)
    if not path.exists():
        return "absent"
    h = hashlib.sha256()
    for p in sorted(x for x in path.rglob("*") if x.is_file() or x.is_symlink()):
        h.update(os.fsencode(p.relative_to(path)))  # a file name need not be valid UTF-8
        h.update(_hash_tree(p).encode())
    return h.hexdigest()


#: :data:`analysis.tables.SUFFIX`, repeated so that checking the cache imports neither pandas nor the schemas
#: (``tests/test_pipeline.py`` keeps the two equal).
TABLE_SUFFIX = ".parquet"


#: Environment variables whose value changes a stage's outputs (hashed among every stage's inputs when set): the
#: themes' chunk size (:func:`analysis.themes.chunked.chunk_units`), the positions' and the campaigns' task sizes
#: (:func:`analysis.positions.chunked.chunk_texts`, :func:`analysis.campaigns.sampled.chunk_keys`) and the partition
#: size (:func:`analysis.tables.partition_rows`).
OUTPUT_ENV = ("ANALYSIS_THEMES_CHUNK_UNITS", "ANALYSIS_POSITIONS_CHUNK_TEXTS", "ANALYSIS_CAMPAIGNS_CHUNK_KEYS",
              "ANALYSIS_PARTITION_ROWS")


def table_path(table: str, folder: Path) -> Path:
    """Where ``table`` is stored (:func:`analysis.tables.table_path`)."""
    return Path(folder) / f"{table}{TABLE_SUFFIX}"


def stage_inputs(
    stage: Stage, cfg_path: Path, cfg: ConsultationConfig, processed_dir: Path, own_outputs: Iterable[str] = ()
) -> dict[str, str]:
    """Hash every declared input of ``stage``.

    ``own_outputs`` (file names the stage wrote last time) are left out of a ``*`` input, so a stage's own
    outputs never count as its inputs.

    Returns:
        Mapping input name → sha256 (``absent`` for optional inputs that do not exist).
    """
    raw_dir = cfg_path.parent
    hashes: dict[str, str] = {"config": sha256_file(cfg_path)}
    for pattern in stage.raw_in:
        if pattern == "*sources*":
            for s in cfg.sources:
                hashes[f"raw:{s.file}"] = _hash_tree(raw_dir / s.file)
        else:
            hashes[f"raw:{pattern}"] = _hash_tree(raw_dir / pattern)
    for t in stage.tables_in:
        if t == "*":  # every table and stage record in the processed folder
            skip = {Path(o).name for o in own_outputs}
            for p in sorted(processed_dir.glob("*")):
                if p.name in skip:
                    continue
                if p.is_file() and p.suffix in (".parquet", ".csv", ".json", ".yml"):
                    hashes[f"table:{p.name}"] = sha256_file(p)
                elif p.is_dir() and p.suffix == TABLE_SUFFIX:  # a partitioned table (analysis.tables)
                    hashes[f"table:{p.name}"] = _hash_tree(p)
        elif table_path(t, processed_dir).name not in {Path(o).name for o in own_outputs}:
            hashes[f"table:{t}"] = _hash_tree(table_path(t, processed_dir))
    for t, only_with in stage.tables_if:
        if table_path(only_with, processed_dir).exists():
            hashes[f"table:{t}"] = _hash_tree(table_path(t, processed_dir))
    for var in OUTPUT_ENV:  # settings by environment that change what a stage computes, when set
        if os.environ.get(var, "").strip():
            hashes[f"env:{var}"] = os.environ[var].strip()
    # The whole package's source (modules and templates) is part of every stage's identity: a code change
    # re-runs everything, an edit to an analyst file re-runs only the stages that read it.
    hashes["code"] = _package_hash()
    return hashes


def _package_hash() -> str:
    pkg = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(pkg.rglob("*")):
        if p.is_file() and p.suffix in (".py", ".j2", ".yml", ".yaml", ".css") and "__pycache__" not in p.parts:
            h.update(p.relative_to(pkg).as_posix().encode())
            h.update(sha256_file(p).encode())
    return h.hexdigest()


def _digest(hashes: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()


def _load_manifest(path: Path) -> dict:
    if path.exists():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            log.warning("stage manifest %s is unreadable; re-running every stage", path)
    return {}


def run(
    consultation: str | Path,
    *,
    stages: Iterable[str] | None = None,
    force: bool = False,
    echo: Callable[[str], None] | None = None,
    engine: str | None = None,
    scheduler: str | None = None,
) -> dict[str, list[Path]]:
    """Run the pipeline for one consultation.

    Args:
        consultation: Consultation name under ``data/raw`` or a path to its ``consultation.yml``.
        stages: Subset of stage names to run (default: all, in order).
        force: Ignore the cache and re-run every selected stage.
        echo: Called with one progress line per stage (the CLI prints them).
        engine: ``local`` or ``dask`` (default: ``settings.engine``; :mod:`analysis.engine`). The outputs are the
            same either way.
        scheduler: A Dask scheduler's address (implies ``dask``); without it the dask engine starts a LocalCluster.

    Returns:
        Stage name → output paths (empty for skipped stages).

    Raises:
        RunLockedError: Another run of the same consultation is in progress (:func:`run_lock`).
    """
    cfg_path = paths.resolve_config(consultation)  # a plain name, or a .yml inside data/raw (else ConfigError)
    cfg = load_config(cfg_path)
    engine_name, scheduler = engine_mod.resolve(cfg.settings.engine, engine, scheduler)
    processed_dir = paths.processed_dir(cfg.id)
    processed_dir.mkdir(parents=True, exist_ok=True)
    # no huge pages for NumPy's arrays during the run (analysis.memory.small_pages: the kernel zeroed 2 MiB for each),
    # and PyArrow's buffers from jemalloc (analysis.memory.arrow_jemalloc: mimalloc's cost several times more system time)
    with (run_lock(processed_dir, cfg.id), fewer_collections(), small_pages(), arrow_jemalloc(),
          engine_mod.activated(engine_name, scheduler) as eng):
        if eng is not None:
            (echo or (lambda _m: None))(f"[engine] dask, scheduler {eng.address_}"
                                        + (f", dashboard {eng.dashboard_}" if eng.dashboard_ else ""))
        return _run_stages(cfg_path, cfg, stages=stages, force=force, echo=echo)


#: Net allocations of container objects between two youngest-generation collections of Python's garbage
#: collector during a run (Python's default: 700).
GC_THRESHOLD = 10_000


@contextlib.contextmanager
def fewer_collections(threshold: int = GC_THRESHOLD) -> Iterator[None]:
    """Collect cyclic garbage less often for the length of the block (the previous thresholds come back after).

    The stages import hundreds of modules whose objects live to the end; with Python's default thresholds the
    garbage collector traversed them in 7 full collections during ``analysis run sample`` (0.64 of 0.84 CPU s of
    collecting, measured with ``gc.callbacks``). With :data:`GC_THRESHOLD` the run's collections cost 0.32 CPU s:
    garbage in reference cycles waits longer (up to that many allocations); objects without cycles are freed
    at once as before. Nothing the stages compute depends on when garbage is collected. A collector switched
    off (threshold 0) stays off.
    """
    import gc

    before = gc.get_threshold()
    if before[0]:
        gc.set_threshold(max(before[0], threshold), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


class RunLockedError(AnalysisError):
    """Another run of the same consultation holds its lock."""


#: The publication guard's record of the report files it found clean (in the consultation's cache folder).
GUARD_RECORD = "guard_clean.json"
#: The lock file a run holds in the consultation's processed folder (``<pid> <start time>``).
LOCK_FILE = ".run.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    except OSError:
        return False
    return True


@contextlib.contextmanager
def run_lock(processed_dir: Path, consultation: str) -> Iterator[Path]:
    """Hold the consultation's run lock (``<processed>/.run.lock``) for the duration of a run.

    The lock file is created atomically (``O_CREAT | O_EXCL``) and holds the owner's process id. A lock whose
    process no longer exists (a run that was killed) is stale and taken over; a live one stops this run.

    Raises:
        RunLockedError: Naming the consultation, the process holding the lock, since when, and the lock file.
    """
    path = Path(processed_dir) / LOCK_FILE
    for _attempt in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid_text, _, since = path.read_text(encoding="utf-8").partition(" ")
                pid = int(pid_text)
            except (OSError, ValueError):
                pid, since = 0, "?"
            if pid and pid != os.getpid() and _alive(pid):
                raise RunLockedError(
                    f"{consultation}: another run is in progress (process {pid}, started {since.strip()}); wait for "
                    f"it to finish. The lock is {path}: delete it only if that process is not a run of this "
                    "consultation.") from None
            log.warning("%s: taking over a stale run lock (process %s no longer runs)", consultation, pid or "?")
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        break
    else:
        raise RunLockedError(f"{consultation}: another run took the lock {path} at the same time; try again")
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _run_stages(cfg_path: Path, cfg: ConsultationConfig, *, stages: Iterable[str] | None, force: bool,
                echo: Callable[[str], None] | None) -> dict[str, list[Path]]:
    """The body of :func:`run`, under the consultation's run lock."""
    processed_dir = paths.processed_dir(cfg.id)
    reports_dir = paths.reports_dir(cfg.id)
    manifest_path = paths.cache_dir(cfg.id) / "stages.json"
    manifest = _load_manifest(manifest_path)
    wanted = set(stages) if stages is not None else None
    unknown = (wanted or set()) - {s.name for s in STAGES}
    if unknown:
        raise ValueError(f"unknown stage(s) {sorted(unknown)}; known: {[s.name for s in STAGES]}")
    say = echo or (lambda _m: None)
    early: dict[str, contextlib.ExitStack] = {}  # work started ahead (Stage.starts_with), by the stage it is for
    with contextlib.ExitStack() as zygote_stack:  # the run's zygote, once a stage runs (_preload_workers)
        try:
            results = _stage_loop(cfg_path, cfg, wanted, force, say, manifest, manifest_path, early, zygote_stack)
        finally:
            for stack in early.values():
                stack.close()
    if wanted is None or "guard" in (wanted or set()) or "report" in (wanted or set()):
        from analysis.redaction.guard import guard

        say("[guard] scanning reports for personal information ...")
        # files unchanged since the last clean scan (same sha256, same guard and respondent values) are not read
        guard(reports_dir, processed_dir, cache_file=paths.cache_dir(cfg.id) / GUARD_RECORD)
        say("[guard] clean")
    return results


def _stage_loop(cfg_path: Path, cfg: ConsultationConfig, wanted: set[str] | None, force: bool,
                say: Callable[[str], None], manifest: dict, manifest_path: Path,
                early: dict[str, contextlib.ExitStack],
                zygote_stack: contextlib.ExitStack | None = None) -> dict[str, list[Path]]:
    """Run (or skip) each wanted stage in order, recording it in the manifest (the body of :func:`_run_stages`)."""
    raw_dir = cfg_path.parent
    processed_dir = paths.processed_dir(cfg.id)
    reports_dir = paths.reports_dir(cfg.id)
    results: dict[str, list[Path]] = {}
    for stage in STAGES:
        if wanted is not None and stage.name not in wanted:
            continue
        prev = manifest.get(stage.name, {})
        hashes = stage_inputs(stage, cfg_path, cfg, processed_dir, prev.get("outputs", []))
        digest = _digest(hashes)
        outputs_exist = all(Path(p).exists() for p in prev.get("outputs", [])) and prev.get("outputs")
        if not force and prev.get("digest") == digest and outputs_exist:
            say(f"[{stage.name}] up to date (inputs unchanged), skipped")
            results[stage.name] = []
            _end_early(early, stage.name)  # not wanted: what was started for it stops now
            continue
        say(f"[{stage.name}] running ...")
        if zygote_stack is not None:
            _preload_workers(stage, cfg, raw_dir, processed_dir, wanted, zygote_stack)
        for later in STAGES:  # later stages whose own work can start now, beside this one
            if later.starts_with == stage.name and (wanted is None or later.name in wanted):
                early.setdefault(later.name, contextlib.ExitStack()).enter_context(
                    later.module.start_early(cfg, raw_dir=raw_dir, processed_dir=processed_dir))
        t0 = time.perf_counter()
        mod = stage.module
        kwargs = dict(raw_dir=raw_dir, processed_dir=processed_dir)
        if stage.needs_reports:
            kwargs["reports_dir"] = reports_dir
            if reports_dir.is_dir():  # output only, fully regenerated: no stale charts from earlier runs
                shutil.rmtree(reports_dir)
        # One BLAS thread: the models here are small and sparse, where BLAS threads only spin (20x slower on
        # a busy 2-core machine, measured), and single-threaded sums keep floats byte-identical across runs.
        with threadpool_limits(limits=1, user_api="blas"):
            call = functools.partial(_call_stage, mod, cfg, kwargs)
            # a large consultation: each stage in a child process, so what it held is returned when it ends
            outputs = stageproc.run_in_child(stage.name, call) if stageproc.wanted(raw_dir) else call()
        release_memory()
        log.info("stage %s wrote %d files in %.1fs", stage.name, len(outputs), time.perf_counter() - t0)
        say(f"[{stage.name}] done: {len(outputs)} files")
        manifest[stage.name] = {
            "digest": digest,
            "inputs": hashes,
            "outputs": sorted(str(p) for p in outputs),
        }
        manifest_path.parent.mkdir(parents=True, exist_ok=True)
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        results[stage.name] = outputs
        _end_early(early, stage.name)
    return results


def _call_stage(mod: ModuleType, cfg: ConsultationConfig, kwargs: dict) -> list[Path]:
    """``mod.run(cfg, **kwargs)``: a stage's outputs (the stage's client of a Dask cluster, if any, is closed after
    it: the process holds no Dask thread when it next forks)."""
    try:
        return [Path(p) for p in mod.run(cfg, **kwargs)]
    finally:
        engine_mod.release()


def release_memory() -> bool:
    """Give the memory a finished stage freed back to the system, so the next stage starts from a low floor.

    Collects reference cycles, then asks glibc to return its free heap pages (``malloc_trim``): without it a
    stage's freed buffers stay in this process's heap and add up with the next stage's (measured on a generated
    50,000-response consultation with 90% campaign copies: the report stage's peak 2,573 -> 2,296 MB, the counts
    stage's 1,678 -> 1,378 MB, the same CPU seconds). Returns whether the C library had ``malloc_trim`` (not on
    macOS or Windows, where only the collection runs).
    """
    gc.collect()
    return trim_heap()


def _preload_workers(stage: Stage, cfg: ConsultationConfig, raw_dir: Path, processed_dir: Path,
                     wanted: set[str] | None, zygote_stack: contextlib.ExitStack) -> None:
    """Before ``stage`` runs: have the run's zygote (:mod:`analysis.zygote`) import the modules of the workers
    that later stages will start ahead (their package's ``worker_modules(cfg, raw_dir=..., processed_dir=...)``),
    on the second core while this stage keeps the first busy.

    The zygote is forked before the first stage that runs imports anything (the later stages' hints import
    pandas), when some later wanted stage starts work ahead (:attr:`Stage.starts_with`).
    """
    from analysis import zygote

    at = STAGES.index(stage)
    later = [s for s in STAGES[at + 1:] if s.starts_with and (wanted is None or s.name in wanted)]
    if not later:
        return
    if zygote._CURRENT is None:
        if zygote_stack.enter_context(zygote.running()) is None:
            return
    for s in later:
        hint = getattr(s.module, "worker_modules", None)
        if hint is not None:
            zygote.preload(*hint(cfg, raw_dir=raw_dir, processed_dir=processed_dir))


def _end_early(early: dict[str, contextlib.ExitStack], name: str) -> None:
    """Leave the ``start_early`` contexts entered for stage ``name`` (its run took what it could use)."""
    stack = early.pop(name, None)
    if stack is not None:
        stack.close()
