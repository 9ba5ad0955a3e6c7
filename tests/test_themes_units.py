"""Text units of a question (:func:`analysis.themes.fit._units`): campaign copies and their personal additions."""

from __future__ import annotations

import pandas as pd

from analysis.themes.fit import _units, has_content


def test_units_checks_each_personal_addition_once_with_the_same_result():
    """Repeated campaign additions are checked for content once; units and owners are as checking each row."""
    additions = ["I worry about my privacy online.", "Thanks.", None, "I worry about my privacy online.",
                 "Nothing further.", "Scams cost my mother her savings.", "Thanks."]
    q = pd.DataFrame({
        "response_id": [f"r{i}" for i in range(len(additions))], "question_id": "q5_other", "language": "en",
        "text_redacted": [f"Dear Minister, protect our rights. {a or ''}" for a in additions],
        "campaign_id": "c1", "is_campaign_copy": True, "personal_addition": additions,
    })
    campaigns = pd.DataFrame({"campaign_id": ["c1"], "template": ["Dear Minister, protect our rights."]})
    units, owners, untranslated, blank = _units(q, campaigns, {"en"})
    own = [f"own:r{i}" for i, a in enumerate(additions) if isinstance(a, str) and has_content(a)]
    assert own == ["own:r0", "own:r3", "own:r5"]
    assert units["unit"].tolist() == ["campaign:c1", *own]
    assert units["text"].tolist()[1:] == [additions[int(u[5:])] for u in own]
    assert owners["unit"].tolist().count("campaign:c1") == len(additions)
    assert [u for u in owners["unit"] if u.startswith("own:")] == own
    assert not untranslated and not blank
