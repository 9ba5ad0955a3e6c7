"""Charts: house style, honest marks for suppressed cells, alt text, nothing cut off, byte-identical files."""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from analysis import schemas
from analysis.charts import figures as charts
from analysis.charts import style
from analysis.config import parse_config

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "results"))
import results_frames as rf  # noqa: E402

QO = rf.QUESTION_OPEN


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """The fixture tables; ``out_counts`` (all count modes) and ``counts`` (unique mode) from the counts stage."""
    f = {k: schemas.validate(v, k) for k, v in rf.build_frames().items()}
    f["out_counts"] = rf.counts_of(f, tmp_path_factory.mktemp("processed"), parse_config(rf.config_dict()))
    f["counts"] = f["out_counts"][f["out_counts"]["count_mode"] == "unique"].reset_index(drop=True)
    return f


def _texts(fig: Figure) -> list[Text]:
    """Texts that are actually drawn (tick labels only inside the axis view and when the axis is on)."""
    tick_labels, drawn = set(), []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                for lab in (tick.label1, tick.label2):
                    tick_labels.add(id(lab))
                    if (ax.axison and lab.get_visible() and lab.get_text().strip()
                            and lo - 1e-9 <= tick.get_loc() <= hi + 1e-9):
                        drawn.append(lab)
    return drawn + [t for t in fig.findobj(Text)
                    if id(t) not in tick_labels and t.get_visible() and t.get_text().strip()]


def _all_text(fig: Figure) -> str:
    return "\n".join(t.get_text() for t in _texts(fig))


def _assert_readable(fig: Figure) -> None:
    """Every text is inside the figure, at least 9 pt, and tick labels of one axis do not overlap."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    fb = fig.bbox
    assert fig.get_figwidth() == style.FIG_WIDTH and fig.dpi == style.DPI
    for t in _texts(fig):
        assert t.get_fontsize() >= style.MIN_FONT, t.get_text()
        bb = t.get_window_extent(renderer)
        assert bb.x0 >= fb.x0 - 1 and bb.x1 <= fb.x1 + 1, f"cut off horizontally: {t.get_text()!r}"
        assert bb.y0 >= fb.y0 - 1 and bb.y1 <= fb.y1 + 1, f"cut off vertically: {t.get_text()!r}"
    for ax in fig.axes:
        labels = [lab for lab in ax.get_yticklabels() if lab.get_text()]
        boxes = sorted((lab.get_window_extent(renderer) for lab in labels), key=lambda b: b.y0)
        for a, b in zip(boxes, boxes[1:], strict=False):
            assert a.y1 <= b.y0 + 0.5, "y tick labels overlap"
    # the title (suptitle) must not collide with any axes (incl. legends above the plot)
    title = fig._suptitle
    if title is not None:
        tb = title.get_window_extent(renderer)
        for ax in fig.axes:
            assert not tb.overlaps(ax.get_tightbbox(renderer)), "title overlaps a plot"


def test_every_chart_is_readable_states_n_and_footnote(frames):
    f, c = frames, frames["counts"]
    figs = [
        charts.responses_chart(f["out_counts"], footnote="Source: test."),
        charts.position_chart(c, "q1", question_text=rf.LONG_CLOSED_TEXT, footnote="Source: test."),
        charts.theme_chart(c, f["core_themes"], QO, question_text=rf.OPEN_TEXT, footnote="Source: test."),
        charts.theme_position_chart(c, f["core_themes"], QO, question_text=rf.OPEN_TEXT, footnote="Source: test."),
        charts.theme_respondent_chart(c, f["core_themes"], QO, question_text=rf.OPEN_TEXT, footnote="Source: test."),
        charts.campaign_chart(f["out_counts"], f["core_campaigns"], footnote="Source: test."),
    ]
    for fig in figs:
        text = _all_text(fig)
        assert "n = " in text and "Source: test." in text
        _assert_readable(fig)
    # long question text is wrapped, never one overlong line
    assert all(len(line) <= style.TITLE_WRAP for line in figs[1]._suptitle.get_text().splitlines())


def test_position_chart_diverges_and_counts_match_table(frames):
    c = frames["counts"]
    fig = charts.position_chart(c, "q1", question_text=rf.LONG_CLOSED_TEXT)
    ax = fig.axes[0]
    widths = [(round(p.get_x(), 6), p.get_width()) for p in ax.patches]
    row = c[(c["table"] == "position") & (c["question_id"] == "q1") & (c["group"] == "all")].set_index("category")
    # oppose drawn to the left of zero, support to the right, lengths = shares in percent
    assert any(x < 0 and w == pytest.approx(100 * row.loc["oppose", "share"]) for x, w in widths)
    assert any(x == 0 and w == pytest.approx(100 * row.loc["support", "share"]) for x, w in widths)
    assert "45% (36)" in _all_text(fig)
    alt = charts.position_alt(c, "q1", question_text=rf.LONG_CLOSED_TEXT)
    assert "support 45% (36)" in alt and "oppose 45% (36)" in alt and "n = 80" in alt


def _suppressed_markers(ax) -> list:
    return [ln for ln in ax.lines if ln.get_marker() == style.SUPPRESSED_MARKER]


def test_suppressed_cells_are_markers_without_magnitude(frames):
    f, c = frames, frames["counts"]
    theme = c[(c["table"] == "theme") & (c["question_id"] == QO)]
    assert theme["suppressed"].sum() == 2  # kp_4_0 (3 answers) and kp_4_8 (1 answer) are below 5
    fig = charts.theme_chart(c, f["core_themes"], QO, question_text=rf.OPEN_TEXT)
    ax = fig.axes[0]
    # one bar per shown theme, none for a suppressed one: its size is never drawn (no "largest possible" bar)
    assert len([p for p in ax.patches if p.get_width() > 0]) == int((~theme["suppressed"]).sum() - (theme["n"] == 0).sum())
    assert not [p for p in ax.patches if p.get_hatch() == style.SUPPRESSED_HATCH]
    markers = _suppressed_markers(ax)
    assert len(markers) == 2 and all(float(m.get_xdata()[0]) == 0.0 for m in markers)
    assert _all_text(fig).count("<5") == 2
    heat = charts.theme_respondent_chart(c, f["core_themes"], QO, question_text=rf.OPEN_TEXT)
    n_supp = int(c[(c["table"] == "theme_respondent_type") & (c["question_id"] == QO)]["suppressed"].sum())
    assert len([p for p in heat.axes[0].patches if p.get_hatch() == style.SUPPRESSED_HATCH]) == n_supp
    assert f"{n_supp} cells with fewer than 5" in charts.theme_respondent_alt(c, f["core_themes"], QO,
                                                                            question_text=rf.OPEN_TEXT)


def test_save_figure_is_byte_identical_and_writes_alt_text(frames, tmp_path):
    c = frames["counts"]
    outs = []
    for run in ("a", "b"):
        fig = charts.theme_chart(c, frames["core_themes"], QO, question_text=rf.OPEN_TEXT, footnote="x")
        alt = charts.theme_alt(c, frames["core_themes"], QO, question_text=rf.OPEN_TEXT)
        outs.append(charts.save_figure(fig, tmp_path / run / "themes", alt))
    for a, b in zip(*outs, strict=True):
        assert a.name == b.name and a.read_bytes() == b.read_bytes()
    png, svg, alt = outs[0]
    assert [p.name for p in outs[0]] == ["themes.png", "themes.svg", "themes.alt.txt"]
    assert b"tIME" not in png.read_bytes() and b"Software" not in png.read_bytes()
    assert b"<dc:date>" not in svg.read_bytes()
    assert "School uniform is harming the student's self expression 25% (20)" in alt.read_text()
    from PIL import Image

    with Image.open(png) as im:
        assert im.size[0] == 800


def test_edge_cases_empty_one_sided_single_respondent():
    # empty question: no rows at all
    empty = schemas.validate(pd.DataFrame(columns=list(schemas.out_counts.columns)), "out_counts")
    fig = charts.position_chart(empty, "q9", question_text="Nobody answered")
    assert "No positions recorded" in _all_text(fig)
    assert "no positions were recorded" in charts.position_alt(empty, "q9", question_text="Nobody answered")
    # everybody on one side
    from analysis.counts.rules import count_categories, counting_units

    ans = pd.DataFrame({"response_id": [f"r{i}" for i in range(12)], "question_id": "q1"})
    units = counting_units(ans, "all")
    lab = ans.assign(position="support")
    c = count_categories(lab, units, table="position", category_col="position", categories=schemas.POSITIONS,
                         mode="all", min_cell=5)
    fig = charts.position_chart(c, "q1", question_text="All agree?")
    _assert_readable(fig)
    assert "100% (12)" in _all_text(fig) and "0% (0)" in _all_text(fig)
    assert "support 100% (12), oppose 0% (0)" in charts.position_alt(c, "q1", question_text="All agree?")
    # a single respondent: suppressed, drawn as a marker without magnitude, never as 0
    c1 = count_categories(lab.head(1), counting_units(ans.head(1), "all"), table="position", category_col="position",
                          categories=schemas.POSITIONS, mode="all", min_cell=5)
    fig = charts.position_chart(c1, "q1", question_text="One person")
    assert _suppressed_markers(fig.axes[0]) and not [p for p in fig.axes[0].patches if p.get_width() > 0]
    assert "<5" in _all_text(fig) and "(1)" not in _all_text(fig)


def test_campaign_chart_and_responses_alt(frames):
    f = frames
    alt = charts.campaign_alt(f["out_counts"], f["core_campaigns"])
    assert "all 92 responses with the 81 unique submissions" in alt and "12 responses (13%)" in alt
    assert "Online survey: 68 (55 individuals, 13 organisations)" in charts.responses_alt(f["out_counts"])


def test_wrap_never_exceeds_width_and_style_is_scoped():
    label = "School uniforms increase conformity or harm individuality and other long words here"
    assert all(len(line) <= 20 for line in style.wrap(label, 20).splitlines())
    before = dict(matplotlib.rcParams)
    charts.theme_chart(schemas.validate(pd.DataFrame(columns=list(schemas.out_counts.columns)), "out_counts"),
                       None, "q", question_text="t")
    assert matplotlib.rcParams["svg.hashsalt"] == before["svg.hashsalt"]  # house style does not leak globally
    assert matplotlib.rcParams["font.size"] == before["font.size"]


def test_very_long_labels_and_many_themes_stay_readable():
    from analysis.counts.rules import count_categories, counting_units

    n_themes, n = 18, 200
    ans = pd.DataFrame({"response_id": [f"r{i}" for i in range(n)], "question_id": "q"})
    lab = pd.DataFrame([{"response_id": f"r{i}", "question_id": "q", "theme_id": f"t{i % n_themes}"}
                        for i in range(n) if i % 3])
    c = count_categories(lab, counting_units(ans, "all"), table="theme", category_col="theme_id", mode="all",
                         min_cell=5)
    themes = pd.DataFrame({"question_id": "q", "theme_id": [f"t{k}" for k in range(n_themes)],
                           "label": [f"Theme {k}: " + "concerns about the cumulative effect of the proposed "
                                     "regulation on small rural businesses and volunteer organisations" * 2
                                     for k in range(n_themes)]})
    question = "Q: " + "To what extent do you agree with the proposed changes to the funding formula? " * 4
    fig = charts.theme_chart(c, themes, "q", question_text=question, footnote="Source: test.")
    _assert_readable(fig)


def test_neither_side_labels_fit_beside_large_sided_bars():
    # big support counts next to a small neutral + suppressed unclear (label "26 + <5"): was cut off
    rows = []
    for k, (sup, opp, neu, unc) in enumerate([(174, 22, 26, 3), (111, 22, 16, 2), (10, 2, 0, 4)]):
        for pos, n in (("support", sup), ("oppose", opp), ("neutral", neu), ("unclear", unc)):
            rows += [{"response_id": f"r{k}-{pos}-{i}", "question_id": "q", "theme_id": f"t{k}", "position": pos}
                     for i in range(n)]
    lab = pd.DataFrame(rows)
    from analysis.counts.rules import count_categories, counting_units

    units = counting_units(lab[["response_id", "question_id"]], "all")
    c = count_categories(lab, units, table="theme_position", category_col="position", group_col="theme_id",
                         denominator_units=units, mode="all", min_cell=5)
    themes = pd.DataFrame({"question_id": "q", "theme_id": ["t0", "t1", "t2"], "label": ["Human rights and privacy safeguards",
                                                                         "Cross-border data access and law-enforcement "
                                                                         "powers", "Other (no codebook theme matched)"]})
    fig = charts.theme_position_chart(c, themes, "q", question_text="Q", footnote="Source: test.")
    assert "26 + <5" in _all_text(fig)
    _assert_readable(fig)


def test_theme_support_chart_matches_votes_and_stays_readable():
    f = rf.build_polis_frames()
    sup, themes = f["out_theme_support"], f["core_themes"]
    fig = charts.theme_support_chart(sup, themes, rf.POLIS_QUESTION, question_text=rf.POLIS_TEXT,
                                     footnote="Source: test.")
    _assert_readable(fig)
    ax = fig.axes[0]
    bars = sorted((p.get_width() for p in ax.patches), reverse=True)
    s = rf.polis_statements().groupby("theme_id")[["agrees", "disagrees"]].sum()
    expected = sorted((100 * s["agrees"] / (s["agrees"] + s["disagrees"])).tolist(), reverse=True)
    assert bars == pytest.approx(expected)
    text = _all_text(fig)
    assert "Source: test." in text and "50%" in text and "statements" in text
    # no interval is drawn where the caption would call it too narrow (#13)
    from matplotlib.container import ErrorbarContainer

    assert not any(isinstance(c, ErrorbarContainer) for c in ax.containers) and not ax.collections
    assert "no interval is drawn" in " ".join(text.split())
    # value labels sit right of 100%: clear of bars and the 50% line
    renderer = fig.canvas.get_renderer()
    x100 = ax.transData.transform((100, 0))[0]
    labels = [t for t in ax.texts if "votes" in t.get_text()]
    assert len(labels) == len(s)
    assert all(t.get_window_extent(renderer).x0 > x100 for t in labels)
    alt = charts.theme_support_alt(sup, themes, rf.POLIS_QUESTION, question_text=rf.POLIS_TEXT)
    assert all(lab in alt for lab in themes["label"])
    empty = charts.theme_support_chart(None, themes, rf.POLIS_QUESTION, question_text="Q")
    assert "No votes recorded" in _all_text(empty)


def test_suppressed_responses_and_campaign_sizes_are_hatched_and_totals_kept(tmp_path):
    # min_cell 15: the 12-letter campaign and the small channel x respondent type cells are suppressed
    f = rf.build_frames()
    counts = rf.counts_of(f, tmp_path, parse_config(rf.config_dict(min_cell=15)))
    resp = counts[(counts["table"] == "responses") & (counts["count_mode"] == "all")]
    n_hidden = int(resp["suppressed"].sum())
    assert n_hidden >= 1
    fig = charts.responses_chart(counts, min_cell=15, footnote="Source: test.")
    _assert_readable(fig)
    hatched = [p for p in fig.axes[0].patches if p.get_hatch() == style.SUPPRESSED_HATCH]
    assert len(hatched) == n_hidden and all(p.get_width() > 0 for p in hatched)
    text = _all_text(fig)
    assert "n = 92 responses" in text and "Suppressed (fewer than 15)" in text
    for total in resp.groupby("group")["denominator"].max():  # every channel's total is still printed
        assert f"\n{total}\n" in f"\n{text}\n"
    assert charts.responses_alt(counts, min_cell=15).endswith(
        "Online survey: 68 (<15 individuals, <15 organisations); Email: 24 (<15 individuals, <15 organisations).")
    camp = charts.campaign_chart(counts, f["core_campaigns"], min_cell=15, footnote="Source: test.")
    _assert_readable(camp)
    bars = [p for p in camp.axes[0].patches if p.get_hatch() == style.SUPPRESSED_HATCH]
    assert len(bars) == 1 and bars[0].get_width() == pytest.approx(12)  # 92 responses - 80 not in a campaign
    ctext = _all_text(camp)
    assert "(<15)" in ctext and "(12)" not in ctext and "92" in ctext and "81" in ctext
    alt = charts.campaign_alt(counts, f["core_campaigns"], min_cell=15)
    assert "all 92 responses with the 81 unique submissions. 12 responses (13%)" in alt and alt.endswith(": <15).")


# --- WCAG 2.2 non-text contrast and distinct titles ---------------------------------------------------
def test_contrast_ratio_matches_wcag_reference_values():
    assert style.contrast_ratio("#000000") == pytest.approx(21.0)
    assert style.contrast_ratio("#FFFFFF") == pytest.approx(1.0)
    assert style.contrast_ratio("#767676") == pytest.approx(4.54, abs=0.01)  # the known AA grey
    assert style.contrast_ratio("#E69F00") == pytest.approx(2.25, abs=0.01)  # the old Individuals orange fails
    assert style.contrast_ratio("#E69F00", "#56B4E9") == pytest.approx(1.02, abs=0.01)


def _sequences() -> dict[str, list[str]]:
    """Every colour sequence drawn side by side, in drawing order."""
    neither = [style.POSITION_COLOURS[p] for p in schemas.NEITHER]
    cats = style.CATEGORY_COLOURS
    return {
        "positions (oppose | support)": [style.POSITION_COLOURS["oppose"], style.POSITION_COLOURS["support"]],
        "neither-side stack": neither,
        "respondent types": [style.RESPONDENT_COLOURS[t] for t in ("individual", "organisation", "unknown")],
        "campaign stack (wraps around)": [style.UNIQUE_COLOUR, *cats, *cats],
    }


def test_every_chart_colour_has_3_to_1_contrast_with_white_and_its_neighbours():
    colours = {*style.CATEGORY_COLOURS, *style.POSITION_COLOURS.values(), *style.RESPONDENT_COLOURS.values(),
               style.BAR_COLOUR, style.UNIQUE_COLOUR, style.SUPPRESSED_EDGE}
    low = {c: round(style.contrast_ratio(c), 2) for c in colours if style.contrast_ratio(c) < 3.0}
    assert not low, f"below 3:1 against white: {low}"
    for name, seq in _sequences().items():
        for a, b in zip(seq, seq[1:], strict=False):
            assert style.contrast_ratio(a, b) >= 3.0, f"{name}: {a} next to {b} is {style.contrast_ratio(a, b):.2f}:1"
    assert len(style.CATEGORY_COLOURS) % 2 == 0  # alternating mid/dark survives the wrap-around


def test_chart_titles_are_distinct_and_name_the_question(frames):
    f, c = frames, frames["counts"]
    heading = "Q2b. Reasons for Q2: a closed question"
    figs = [charts.theme_chart(c, f["core_themes"], QO, question_text=heading),
            charts.theme_position_chart(c, f["core_themes"], QO, question_text=heading),
            charts.theme_respondent_chart(c, f["core_themes"], QO, question_text=heading)]
    titles = [" ".join(fig.get_suptitle().split()) for fig in figs]
    assert len(set(titles)) == len(titles)
    assert all(t.endswith(heading) and t == style.chart_title(k, heading)
               for t, k in zip(titles, ("themes", "theme_positions", "theme_respondents"), strict=True))
