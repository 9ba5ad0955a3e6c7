"""respondent_campaigns: campaigns linked through shared members, joined once per distinct link."""

from __future__ import annotations

import random

import pandas as pd

from analysis.counts.rules import respondent_campaigns


def _former(pairs: pd.DataFrame) -> dict[str, str]:
    """The membership as the former code worked it out: one union per member's extra campaign, named per member."""
    pairs = pairs.astype(str).drop_duplicates()
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    linked = pairs[pairs.duplicated("response_id", keep=False)].sort_values(["response_id", "campaign_id"],
                                                                           kind="mergesort")
    prev = first = None
    for rid, cid in zip(linked["response_id"], linked["campaign_id"], strict=True):
        if rid != prev:
            prev, first = rid, cid
        else:
            parent[find(cid)] = find(first)
    size = pairs["campaign_id"].value_counts()
    name: dict[str, str] = {}
    for cid in sorted(size.index, key=lambda c: (c.startswith("S"), -int(size[c]), c)):
        name.setdefault(find(cid), cid)
    first_id = pairs.sort_values(["response_id", "campaign_id"]).drop_duplicates("response_id")
    return {r: name[find(c)] for r, c in zip(first_id["response_id"], first_id["campaign_id"], strict=True)}


def _answers(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame({"response_id": [r for r, _ in pairs], "question_id": "q1",
                         "campaign_id": [c for _, c in pairs], "is_campaign_copy": True})


def test_a_chain_of_shared_members_is_one_campaign() -> None:
    # m1 links C01-C02, m2 links C02-C03, m3 is in three campaigns (C04 links C05 and S01); many repeat a link
    ans = _answers([("m1", "C01"), ("m2", "C02"), ("m3", "C04"), ("m4", "C03"), ("m5", "C01"), ("m6", "C01")]
                   + [(f"r{i}", "C04") for i in range(4)])
    subs = pd.DataFrame({"response_id": ["m1", "m2", "m3", "m3"] + [f"r{i}" for i in range(4)],
                         "campaign_id": ["C02", "C03", "C05", "S01"] + ["C05"] * 4})
    got = respondent_campaigns(ans, subs)
    assert got.to_dict() == {"m1": "C01", "m2": "C01", "m3": "C04", "m4": "C01", "m5": "C01", "m6": "C01",
                             "r0": "C04", "r1": "C04", "r2": "C04", "r3": "C04"}
    assert got.dtype == object and list(got.index) == sorted(got.index)


def test_membership_matches_the_former_loop_on_random_links() -> None:
    rng = random.Random(7)
    for _ in range(20):
        ids = [f"C{i:02d}" for i in range(8)] + [f"S{i:02d}" for i in range(4)]
        pairs = [(f"r{rng.randrange(60):03d}", rng.choice(ids)) for _ in range(150)]
        ans = _answers([p for p in pairs if p[1].startswith("C")])
        subs = pd.DataFrame([p for p in pairs if p[1].startswith("S")], columns=["response_id", "campaign_id"])
        got = respondent_campaigns(ans, subs).to_dict()
        assert got == _former(pd.DataFrame(pairs, columns=["response_id", "campaign_id"]))
