"""The "We did" section: what the organisation decided, written by the analyst in ``we_did.md``.

The file lives in the consultation's raw folder (``data/raw/<consultation>/we_did.md``, beside the
analyst's other files); ``analysis we-did <consultation>`` writes a template with one heading per question.
Format (Markdown, kept simple on purpose)::

    # We did
    Text about the consultation as a whole (optional).

    ## q1
    What was decided about question q1, and why.

Each ``## <question id>`` starts the text of one question; paragraphs are separated by blank lines; HTML
comments (``<!-- guidance -->``) are dropped, so the template's guidance never reaches the page. A question
with no text is shown as not written yet; without the file the whole section is a marked placeholder. The
text is the analyst's own words, published as written (escaped, never interpreted as HTML) and scanned by
the publication guard like everything else in the report.
"""

from __future__ import annotations

import re
from pathlib import Path

from analysis.config import ConsultationConfig
from analysis.errors import InputError

WE_DID_FILE = "we_did.md"
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HEADING = re.compile(r"^##\s+(\S+)\s*$")


def _paragraphs(lines: list[str]) -> list[str]:
    text = "\n".join(lines)
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def parse_we_did(text: str, cfg: ConsultationConfig, file: str = WE_DID_FILE) -> dict:
    """``{"intro": [paragraphs], "questions": {question id: [paragraphs]}}`` from the file's text.

    Raises:
        InputError: A ``## heading`` names no question of the consultation (the line is given).
    """
    known = {q.id for q in cfg.questions}
    intro: list[str] = []
    per_q: dict[str, list[str]] = {}
    current: list[str] = intro
    for i, line in enumerate(_COMMENT.sub("", text).splitlines(), start=1):
        if m := _HEADING.match(line):
            qid = m.group(1)
            if qid not in known:
                raise InputError(file, f"heading '## {qid}' names no question (use one of {sorted(known)})", row=i)
            current = per_q.setdefault(qid, [])
        elif not line.startswith("# "):  # the file's title line
            current.append(line)
    return {"intro": _paragraphs(intro), "questions": {q: _paragraphs(v) for q, v in per_q.items()}}


def we_did_context(raw_dir: Path | None, cfg: ConsultationConfig, headings: dict[str, dict]) -> dict | None:
    """Template context of "We did" (``None``: no ``we_did.md``, the section stays a marked placeholder).

    Returns:
        ``{"intro": [...], "questions": [{"id", "heading", "paragraphs"}]}``, questions in config order.
    """
    path = Path(raw_dir) / WE_DID_FILE if raw_dir is not None else None
    if path is None or not path.is_file():
        return None
    parsed = parse_we_did(path.read_text(encoding="utf-8"), cfg, str(path.name))
    questions = [{"id": q.id, "heading": headings[q.id]["heading"], "paragraphs": parsed["questions"].get(q.id, [])}
                 for q in cfg.questions]
    return {"intro": parsed["intro"], "questions": questions}


def we_did_template(cfg: ConsultationConfig) -> str:
    """A ``we_did.md`` for the analyst to fill: guidance in comments, one heading per question."""
    out = ["# We did", "",
           "<!-- Say what was decided because of what people said: what changed in the final policy, and where",
           "     nothing changed, why not. Text outside these comments is published as written (plain text;",
           "     blank lines separate paragraphs). Leave a question empty to mark it as not written yet. -->", ""]
    for q in cfg.questions:
        out += [f"## {q.id}", f"<!-- {' '.join(q.text.split())[:200].replace('--', '-')} -->", ""]
    return "\n".join(out)
