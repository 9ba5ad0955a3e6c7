"""Explicit stance statements at the start of an answer ("Strongly disagree.", "Not sure -", "I agree with this.").

A respondent who skips the tick box often writes the tick into the text instead: the answer *opens*
with a stand-alone statement of position and then explains it. The stance model cannot learn these
openers from the ticked answers it trains on (people who ticked rarely repeat the tick in words),
so it reads them poorly, and it can never output ``unsure`` (no tick teaches it). This module reads
them directly, with three safeguards so it only fires on an explicit, unhedged statement:

* the cue must **open** the answer (after optional "I"/"We" and an intensifier such as "strongly");
* it must **stand alone**: be followed by the end of the text or by punctuation (``.`` ``,`` ``;``
  ``:`` ``!`` or a dash), optionally after "with this" / "of this principle" - so "I agree that …",
  "Definitely not" and "No-one …" do not fire;
* negated and hedged forms are read first ("I don't agree" → oppose, "Partly agree, partly
  disagree" → neutral, "Not sure" → unsure).

The question's own choice labels (``choices`` of the closed question the text explains, e.g.
"Neither agree nor disagree") are cues too, mapped through the config. English only; answers in
other languages are left to the model. Measured on ArgKP (6,515 real arguments, not answers to a
"do you agree?" question) the cues fire on 6 arguments: they are rare in text that does not answer
such a question. Positions read this way have source ``text_cue`` and count as exact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_SUBJ = r"(?:(?:i|we)(?:'m|\s+am|'re|\s+are)?\s+)?"
_ADV = r"(?:(?:very|strongly|fully|totally|completely|wholeheartedly|really|absolutely|definitely|mostly|generally)\s+)?"

#: Cues in the order they are tried (hedged and negated forms before the plain ones).
CUES: tuple[tuple[str, str], ...] = (
    ("neutral", r"neither\s+agree\s+nor\s+disagree|partly\s+agree\s*(?:,|and|but)?\s*partly\s+disagree"
                r"|mixed\s+feelings(?:\s+about\s+(?:this|it))?|" + _SUBJ + r"(?:on\s+the\s+fence|neutral|undecided|ambivalent)"),
    ("unsure", _SUBJ + r"(?:really\s+)?(?:not\s+sure|unsure|uncertain)(?:\s+what\s+to\s+think(?:\s+about\s+(?:this|it)"
               r"(?:\s+one)?)?)?|" + _SUBJ + r"(?:don'?t|do\s+not)\s+know(?:\s+enough(?:\s+about\s+(?:this|it))?"
               r"(?:\s+to\s+(?:have|form)\s+a\s+view)?)?|hard\s+to\s+say|" + _SUBJ
               + r"(?:really\s+)?can(?:'?t|not)\s+(?:tell|say)|no\s+(?:view|opinion)"),
    ("oppose", _SUBJ + _ADV + r"(?:disagree|oppose|object)|" + _SUBJ + r"(?:don'?t|do\s+not)\s+(?:agree|support)|"
               + _SUBJ + r"(?:against|opposed)|not\s+in\s+favou?r|no|nope"),
    ("support", _SUBJ + _ADV + r"(?:agree|agreed|support|endorse)|" + _SUBJ + _ADV + r"(?:in\s+favou?r|supportive)"
                r"|yes|yep|absolutely|definitely|of\s+course"),
)
_OBJ = r"(?:\s+(?:with|of|to)?\s*(?:this|that|it|the\s+(?:principle|proposal|statement))(?:\s+(?:principle|proposal|one))?)?"
_END = r"\s*(?:[.,;:!]|[-\u2013\u2014](?=\s|$)|$)"


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(r"^\s*(?:" + pattern + r")" + _OBJ + _END, re.IGNORECASE)


_RX = [(pos, _compile(pat)) for pos, pat in CUES]


def explicit_position(text: object, choices: Mapping[str, str | None] | None = None) -> str | None:
    """The position an answer states explicitly at its start, or ``None``.

    Args:
        text: The answer.
        choices: Choice label → position of the closed question the text explains (labels mapped
            to no position are ignored); tried before the built-in cues, longest label first.

    Returns:
        ``support``, ``oppose``, ``neutral`` or ``unsure``; ``None`` when the answer does not open
        with a stand-alone statement of position.
    """
    s = str(text or "")
    for label, pos in sorted((choices or {}).items(), key=lambda kv: (-len(kv[0]), kv[0])):
        if pos and pos != "none" and label.strip() and _compile(re.escape(label.strip()).replace(r"\ ", r"\s+")).match(s):
            return str(pos)
    for pos, rx in _RX:
        if rx.match(s):
            return pos
    return None
