"""Campaign letters for publication: :func:`published_campaigns` checks one sender of each kind (campaign, consent,
organisation) against the former check of every sender, on the sample's tables and on senders whose organisation
the letter names (the self-naming rule)."""

from __future__ import annotations

import itertools

import pandas as pd

from analysis.report.publishable import publishable_text
from analysis.report.tables import WITHHELD_TEMPLATE, published_campaigns


def _former(tables: dict) -> pd.DataFrame | None:
    camps, ans = tables.get("core_campaigns"), tables.get("core_answers_clean")
    if camps is None:
        return None
    members = pd.DataFrame(columns=["response_id", "campaign_id"])
    if ans is not None:
        copy = ans["is_campaign_copy"].astype(bool) & ans["campaign_id"].notna()
        members = ans.loc[copy, ["response_id", "campaign_id"]]
    ok = publishable_text(members.merge(camps[["campaign_id", "template"]], on="campaign_id"),
                          tables.get("core_responses"))
    text = dict(zip(ok["campaign_id"], ok["template"], strict=True))
    return camps.assign(template=[text.get(c, WITHHELD_TEMPLATE) for c in camps["campaign_id"]])


def test_equals_every_sender_checked_on_the_sample(sample_results):
    from analysis import paths
    from analysis.report.load import load_tables

    t = load_tables(paths.processed_dir("sample"))
    pd.testing.assert_frame_equal(published_campaigns(t), _former(t))
    resp = t["core_responses"].assign(consent="do_not_publish")
    pd.testing.assert_frame_equal(published_campaigns(t | {"core_responses": resp}),
                                  _former(t | {"core_responses": resp}))


def test_equals_every_sender_checked_with_self_naming_senders():
    camps = pd.DataFrame({"campaign_id": ["C1", "C2", "C3"], "question_id": "q", "size": [4, 4, 4],
                          "template": ["We at Acme Trust object.", "Letter two, from Kea Society.", "Plain letter."]})
    orgs = [None, "Acme Trust", "acme trust", "Kea Society", "Ab", "Other Org"]
    consents = ["publish_named", "publish_anonymous", "do_not_publish", None]
    seen = 0
    for combo in itertools.product(range(len(orgs)), range(len(consents)), repeat=2):
        senders = [(orgs[combo[0]], consents[combo[1]]), (orgs[combo[2]], consents[combo[3]])]
        resp = pd.DataFrame({"response_id": ["r0", "r1", "r2"], "respondent_type": "organisation", "sector": "x",
                             "organisation": [o for o, _ in senders] + ["Acme Trust"],
                             "consent": [c for _, c in senders] + ["publish_named"]})
        ans = pd.DataFrame({"response_id": ["r0", "r1", "r0", "r1", "r2", "r9"],
                            "campaign_id": ["C1", "C1", "C2", "C2", None, "C3"], "is_campaign_copy": True})
        t = {"core_campaigns": camps, "core_answers_clean": ans, "core_responses": resp}
        got, want = published_campaigns(t), _former(t)
        pd.testing.assert_frame_equal(got, want)
        seen |= {WITHHELD_TEMPLATE: 1}.get(got["template"].iloc[0], 2)
    assert seen == 3  # both outcomes occurred
