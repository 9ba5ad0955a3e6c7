"""Benchmark campaign (form-letter) detection: membership precision/recall/F1, scale, baseline.

Usage::

    python benchmarks/campaigns.py --data /work/shared/data            # quality on generated corpus (+ sample)
    python benchmarks/campaigns.py --data /work/shared/data --sweep    # threshold sweep
    python benchmarks/campaigns.py --data /work/shared/data --scale 1000000
    python benchmarks/campaigns.py --data /work/shared/data --scale 200000 --sampled 65536 16384  # rounds vs whole
    python benchmarks/campaigns.py --generated 10000 50000 200000  # stage functions on generated consultations
    python benchmarks/campaigns.py --generated 1000000 --share1 0.8 --share2 0.1   # 90% campaign copies

The generated corpus is built from real crowd-written arguments (IBM ArgKP 2021, CDLA-Sharing 1.0,
Bar-Haim et al. 2020): each campaign template is ~8 arguments on one motion; copies get realistic
edits (greeting / sign-off with a name, 1-5 personal sentences inserted anywhere, deleted template
sentences, swapped paragraphs, typos, case and whitespace changes); independent responses are 1-4
other arguments on the *same* motions (overlapping vocabulary). Prints measured numbers only.

``--generated`` needs no data: it times ``detect`` (per question) and ``detect_submissions`` (whole
submissions) on the sample generator's survey (``tests/generated_consultation.py``, the mix of
``benchmarks/end_to_end.py``) and scores membership against the generator's truth; several sizes give the
growth exponent of each.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.campaigns.stage import describe_campaigns, find_campaigns, normalise
from analysis.config import CampaignSettings

FIRST = ["Aroha", "James", "Mere", "Olivia", "Wiremu", "Sophie", "Liam", "Priya", "Chen", "Hemi", "Grace", "Noah"]
LAST = ["Smith", "Ngata", "Patel", "Williams", "Brown", "Tane", "Wong", "Walker", "Kumar", "Thompson"]
GREET = ["Dear Minister,", "Kia ora,", "To whom it may concern,", "Dear Sir or Madam,", "Hello,", "", "", ""]
SIGN = ["Kind regards,\n{n}", "Ngā mihi,\n{n}", "Yours sincerely, {n}", "Regards {n}\nSent from my iPhone",
        "Thanks, {n}", "", ""]


def load_arguments(data: Path) -> pd.DataFrame:
    """ArgKP train+dev arguments (arg_id, argument, topic)."""
    base = Path(data) / "argkp-2021"
    frames = [pd.read_csv(base / f"arguments_{s}.csv") for s in ("train", "dev")]
    df = pd.concat(frames, ignore_index=True)
    df["argument"] = df["argument"].astype(str).str.strip().str.strip("`")
    return df[df["argument"].str.len() > 30].reset_index(drop=True)


def _typo(s: str, rng: random.Random) -> str:
    if len(s) < 10:
        return s
    i = rng.randrange(1, len(s) - 1)
    op = rng.randrange(3)
    if op == 0:
        return s[:i] + s[i + 1:]
    if op == 1:
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    return s[:i] + rng.choice("aeiourst") + s[i:]


def _sentence(s: str) -> str:
    s = s.strip()
    return s if s.endswith((".", "!", "?")) else s + "."


def make_templates(args: pd.DataFrame, n: int, rng: random.Random, per: int = 8) -> list[tuple[str, list[str]]]:
    """``n`` templates (topic, sentences), each built from ``per`` arguments of one motion."""
    topics = sorted(args["topic"].unique())
    out = []
    for c in range(n):
        topic = topics[c % len(topics)]
        pool = args.loc[args["topic"] == topic, "argument"].tolist()
        out.append((topic, [_sentence(s) for s in rng.sample(pool, per)]))
    return out


def make_copy(template: list[str], personal_pool: list[str], rng: random.Random, *, edits: bool = True) -> str:
    """One campaign copy with realistic edits."""
    sents = list(template)
    if edits:
        for _ in range(rng.choice([0, 0, 1, 2])):  # deletions
            if len(sents) > 4:
                sents.pop(rng.randrange(len(sents)))
        if rng.random() < 0.3 and len(sents) > 3:  # swap two adjacent paragraphs
            i = rng.randrange(len(sents) - 1)
            sents[i], sents[i + 1] = sents[i + 1], sents[i]
        for _ in range(rng.choice([0, 1, 1, 2, 3])):  # typos
            j = rng.randrange(len(sents))
            sents[j] = _typo(sents[j], rng)
        for _ in range(rng.randint(1, 5)):  # personal sentences
            sents.insert(rng.choice([0, len(sents), rng.randrange(len(sents) + 1)]), _sentence(rng.choice(personal_pool)))
    body = ("\n\n" if rng.random() < 0.5 else " ").join(sents)
    if rng.random() < 0.2:
        body = body.upper() if rng.random() < 0.2 else body.lower()
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    greet, sign = rng.choice(GREET), rng.choice(SIGN).format(n=name)
    return "\n".join(p for p in (greet, body, sign) if p)


def make_corpus(args: pd.DataFrame, *, n_campaigns: int, copies: list[int], n_independent: int, seed: int,
                exact_share: float = 0.0) -> pd.DataFrame:
    """Texts with ground-truth campaign ids (``-1`` for independent responses)."""
    rng = random.Random(seed)
    templates = make_templates(args, n_campaigns, rng)
    camp_args = {s for _, t in templates for s in t}
    pool = [a for a in args["argument"] if _sentence(a) not in camp_args]
    texts, truth = [], []
    for c, (_topic, tmpl) in enumerate(templates):
        n = copies[c % len(copies)]
        for _ in range(n):
            texts.append(make_copy(tmpl, pool, rng, edits=rng.random() >= exact_share))
            truth.append(c)
    for _ in range(n_independent):
        k = rng.choice([1, 1, 2, 3, 4])
        texts.append(" ".join(_sentence(s) for s in rng.sample(pool, k)))
        truth.append(-1)
    order = list(range(len(texts)))
    rng.shuffle(order)
    return pd.DataFrame({"text": [texts[i] for i in order], "truth": [truth[i] for i in order]})


def pairwise_prf(truth: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    """Pairwise precision / recall / F1 of "same campaign" over members (``-1`` = singleton)."""
    t = pd.Series(np.where(truth < 0, -1 - np.arange(len(truth)), truth))
    p = pd.Series(np.where(pred < 0, -1 - np.arange(len(pred)), pred))

    def pairs(counts: pd.Series) -> float:
        c = counts.to_numpy(dtype=float)
        return float((c * (c - 1) / 2).sum())

    tp = pairs(pd.crosstab(t, p).stack()) if len(t) < 5000 else pairs(pd.Series(list(zip(t, p, strict=True))).value_counts())
    pp, tt = pairs(p.value_counts()), pairs(t.value_counts())
    prec = tp / pp if pp else 1.0
    rec = tp / tt if tt else 1.0
    return prec, rec, (2 * prec * rec / (prec + rec) if prec + rec else 0.0)


def tfidf_baseline(texts: list[str], threshold: float = 0.5, min_size: int = 5) -> np.ndarray:
    """Plain all-pairs TF-IDF cosine + connected components (the baseline to beat)."""
    from scipy.sparse.csgraph import connected_components
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(sublinear_tf=True, min_df=1).fit_transform([normalise(t) for t in texts])
    sim = (x @ x.T).tocsr()
    sim.data[sim.data < threshold] = 0
    sim.eliminate_zeros()
    _, lab = connected_components(sim, directed=False)
    sizes = np.bincount(lab)
    return np.where(sizes[lab] >= min_size, lab, -1)


def quality(args: pd.DataFrame, settings: CampaignSettings, seed: int) -> None:
    corpus = make_corpus(args, n_campaigns=12, copies=[5, 8, 20, 50, 120, 300], n_independent=3000, seed=seed)
    t0 = time.perf_counter()
    pred = find_campaigns(corpus["text"].tolist(), settings, seed)
    dt = time.perf_counter() - t0
    p, r, f = pairwise_prf(corpus["truth"].to_numpy(), pred)
    n_camp = len(set(pred.tolist()) - {-1})
    print(f"generated corpus: {len(corpus)} texts, {int((corpus.truth >= 0).sum())} copies in 12 campaigns; "
          f"found {n_camp} campaigns in {dt:.2f}s: pairwise precision {p:.4f} recall {r:.4f} F1 {f:.4f}")
    t0 = time.perf_counter()
    templates, adds = describe_campaigns(corpus["text"].tolist(), pred, settings)
    print(f"templates + personal additions: {time.perf_counter() - t0:.2f}s; "
          f"members with a personal addition: {sum(1 for a in adds if a)} / {int((pred >= 0).sum())}")
    t0 = time.perf_counter()
    base = tfidf_baseline(corpus["text"].tolist(), 0.5, settings.min_size)
    p, r, f = pairwise_prf(corpus["truth"].to_numpy(), base)
    print(f"TF-IDF all-pairs cosine>=0.5 baseline: {time.perf_counter() - t0:.2f}s precision {p:.4f} recall {r:.4f} F1 {f:.4f}")


def compare_datasketch(args: pd.DataFrame, settings: CampaignSettings, seed: int, n: int = 3000) -> None:
    """CPU time of datasketch's MinHash.bulk vs the vectorised MinHasher on the same shingles."""
    from datasketch import MinHash

    from analysis.campaigns.near_duplicates import MinHasher

    corpus = make_corpus(args, n_campaigns=5, copies=[200], n_independent=n - 1000, seed=seed)
    keys = [normalise(t) for t in corpus["text"]]
    k = settings.shingle_size
    t0 = time.process_time()
    sets = []
    for s in keys:
        w = s.split()
        sets.append([" ".join(w[i:i + k]).encode() for i in range(max(1, len(w) - k + 1))])
    MinHash.bulk(sets, num_perm=settings.num_perm, seed=seed)
    t_ds = time.process_time() - t0
    t0 = time.process_time()
    MinHasher(settings.num_perm, k, seed).signatures(keys)
    t_ours = time.process_time() - t0
    print(f"MinHash signatures of {len(keys)} texts ({settings.num_perm} perms, {k}-word shingles): datasketch "
          f"MinHash.bulk {t_ds:.2f}s CPU, vectorised MinHasher {t_ours:.2f}s CPU (x{t_ds / t_ours:.1f})")


def sweep(args: pd.DataFrame, seed: int) -> None:
    corpus = make_corpus(args, n_campaigns=12, copies=[5, 8, 20, 50, 120, 300], n_independent=3000, seed=seed + 1)
    truth = corpus["truth"].to_numpy()
    texts = corpus["text"].tolist()
    print("near_threshold containment shingle | precision recall F1")
    for thr in (0.2, 0.3, 0.4, 0.5):
        for cont in (0.4, 0.5, 0.6):
            for k in (3, 5):
                s = CampaignSettings(near_threshold=thr, containment=cont, shingle_size=k)
                p, r, f = pairwise_prf(truth, find_campaigns(texts, s, seed))
                print(f"{thr:.1f} {cont:.1f} {k} | {p:.4f} {r:.4f} {f:.4f}")


def _read_sample_answers(sample: Path) -> pd.DataFrame:
    """Free-text answers of the bundled sample: survey open questions + .txt/.eml emails (PDF/DOCX skipped)."""
    import email
    import email.policy

    import yaml

    cfg = yaml.safe_load((sample / "consultation.yml").read_text(encoding="utf-8"))
    open_q = {q["id"] for q in cfg["questions"] if q["kind"] == "open"}
    rows = []
    for src in cfg["sources"]:
        path = sample / src["file"]
        if src["format"] == "folder":
            for f in sorted(path.iterdir()):
                if f.suffix == ".txt":
                    text = f.read_text(encoding="utf-8", errors="replace")
                elif f.suffix == ".eml":
                    msg = email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
                    body = msg.get_body(preferencelist=("plain",))
                    text = body.get_content() if body is not None else ""
                else:
                    continue
                rows.append({"response_id": f.name, "question_id": src["question_id"], "answer": text})
        else:
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
            for qid, col in src["columns"].items():
                if qid in open_q:
                    for rid, text in zip(df[src["id_column"]], df[col], strict=True):
                        if text.strip():
                            rows.append({"response_id": rid, "question_id": qid, "answer": text})
    return pd.DataFrame(rows)


def sample_ground_truth(root: Path, settings: CampaignSettings, seed: int) -> None:
    """Campaign membership and personal additions against the bundled sample's ground truth."""
    from analysis.campaigns.stage import _key, detect

    sample = root / "data" / "raw" / "sample"
    gt = sample / "ground_truth" / "campaigns.csv"
    if not gt.exists():
        print(f"sample ground truth: skipped ({gt} missing)")
        return
    truth = pd.read_csv(gt, dtype=str, keep_default_na=False).rename(columns={"response_key": "response_id"})
    answers = _read_sample_answers(sample)
    answers["language"] = "en"
    answers["text_redacted"] = answers["answer"]
    t0 = time.process_time()
    clean, camps = detect(answers, sorted(answers["question_id"].unique()), settings, seed)
    dt = time.process_time() - t0
    merged = clean.merge(truth, on=["response_id", "question_id"], how="inner", suffixes=("", "_true"))
    tmpl = dict(zip(camps["campaign_id"], camps["template"], strict=True))
    pred_key = merged["campaign_id"].map(tmpl)  # the same letter in two questions shares its template
    pred = np.where(pred_key.isna(), -1, pd.factorize(pred_key.fillna(""))[0])
    true_lab = np.where(merged["campaign_id_true"] == "", -1, pd.factorize(merged["campaign_id_true"])[0])
    p, r, f = pairwise_prf(true_lab, pred)
    print(f"sample: {len(merged)} free-text answers matched to ground truth ({len(answers)} read; PDF/DOCX emails "
          f"not read here), {int((true_lab >= 0).sum())} true copies; detect {dt:.2f}s CPU; campaigns found: "
          f"{camps[['question_id', 'size']].values.tolist()}")
    print(f"sample membership: pairwise precision {p:.4f} recall {r:.4f} F1 {f:.4f}")
    both = merged[(true_lab >= 0) & (pred >= 0)]
    from analysis.campaigns.stage import split_sentences

    def sents(text: str) -> set[str]:
        return {_key(x) for x in split_sentences(text or "")} - {""}

    same = [sents(a) == sents(b) for a, b in zip(both["personal_addition"].fillna(""),
                                                 both["personal_addition_true"], strict=True)]
    print(f"sample personal additions: same sentence set (normalised) for {sum(same)} / {len(same)} detected copies "
          f"({sum(same) / max(1, len(same)):.3f})")


def scale(args: pd.DataFrame, n: int, settings: CampaignSettings, seed: int) -> None:
    t0 = time.perf_counter()
    n_camp_members = int(n * 0.9)
    per = n_camp_members // 20
    corpus = make_corpus(args, n_campaigns=20, copies=[per], n_independent=n - per * 20, seed=seed, exact_share=0.5)
    texts = corpus["text"].tolist()
    print(f"scale: generated {len(texts)} texts ({int((corpus.truth >= 0).sum())} in 20 campaigns, half of the "
          f"copies unedited) in {time.perf_counter() - t0:.1f}s; mean length {np.mean([len(t) for t in texts]):.0f} chars")
    del corpus["text"]
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0, c0 = time.perf_counter(), time.process_time()
    pred = find_campaigns(texts, settings, seed)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    p, r, f = pairwise_prf(corpus["truth"].to_numpy(), pred)
    sizes = pd.Series(pred[pred >= 0]).value_counts()
    print(f"scale: campaigns with >= 1000 members: {(sizes >= 1000).sum()}; smaller clusters: {(sizes < 1000).sum()} "
          f"holding {int(sizes[sizes < 1000].sum())} texts")
    print(f"scale: find_campaigns on {len(texts)} texts: {dt:.1f}s wall, {dc:.1f}s CPU, load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores, peak RSS {rss1:.0f} MiB (before {rss0:.0f} MiB); "
          f"{len(set(pred.tolist()) - {-1})} campaigns; precision {p:.4f} recall {r:.4f} F1 {f:.4f}")
    # 20k subset: our method vs all-pairs TF-IDF baseline
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(texts), 20000, replace=False))
    sub = [texts[i] for i in idx]
    tr = corpus["truth"].to_numpy()[idx]
    t0 = time.process_time()
    ours = find_campaigns(sub, settings, seed)
    t_ours = time.process_time() - t0
    t0 = time.process_time()
    base = tfidf_baseline(sub, 0.5, settings.min_size)
    t_base = time.process_time() - t0
    mem = []
    for fn in (lambda: find_campaigns(sub, settings, seed), lambda: tfidf_baseline(sub, 0.5, settings.min_size)):
        tracemalloc.start()
        fn()
        mem.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    print("20k subset (CPU seconds, same process):")
    print(f"20k subset: minhash {t_ours:.2f}s (peak traced {mem[0]:.0f} MiB) F1 {pairwise_prf(tr, ours)[2]:.4f}; "
          f"TF-IDF all pairs {t_base:.2f}s (peak traced {mem[1]:.0f} MiB) F1 {pairwise_prf(tr, base)[2]:.4f}; "
          f"time ratio baseline/minhash {t_base / t_ours:.2f}")


def sampled_rounds(args: pd.DataFrame, n: int, sizes: list[int], settings: CampaignSettings, seed: int) -> None:
    """Whole detection vs rounds of bounded tasks (``ANALYSIS_CAMPAIGNS_CHUNK_KEYS``) on real-argument letters.

    The corpus: 90% copies of 20 large letters plus 40 small ones (6 to 60 copies: the letters a sample may miss),
    10% independent answers; scored against the truth, whole and at each size.
    """
    from analysis.campaigns import sampled  # noqa: PLC0415

    small = [6, 8, 10, 12, 15, 20, 30, 45, 60, 9] * 4
    per = (int(n * 0.9) - sum(small)) // 20
    corpus = make_corpus(args, n_campaigns=60, copies=[per] * 20 + small, n_independent=n - per * 20 - sum(small),
                         seed=seed, exact_share=0.5)
    texts, truth = corpus["text"].tolist(), corpus["truth"].to_numpy()
    is_small = truth >= 20
    print(f"sampled: {len(texts)} texts, 20 letters of {per} copies, 40 of 6-60 ({int(is_small.sum())} copies), "
          f"{int((truth < 0).sum())} independent")
    for size in [None, *sizes]:
        if size is None:
            os.environ.pop(sampled.CHUNK_ENV, None)
        else:
            os.environ[sampled.CHUNK_ENV] = str(size)
        t0 = time.perf_counter()
        pred = find_campaigns(texts, settings, seed)
        dt = time.perf_counter() - t0
        p, r, f = pairwise_prf(truth, pred)
        found_small = pd.Series(pred[is_small] >= 0).mean()
        members = pd.DataFrame({"p": pred, "t": truth})[pred >= 0]
        main = members.groupby("p")["t"].agg(lambda t: t.mode()[0])  # each campaign's commonest truth
        letters = main[main >= 0].value_counts()
        print(f"sampled: size {size or 'whole'}: {dt:.1f}s; {len(main)} campaigns; precision {p:.4f} recall {r:.4f} "
              f"F1 {f:.4f}; small letters' copies in a campaign {found_small:.4f}; letters found {len(letters)} "
              f"(in more than one campaign: {int((letters > 1).sum())}); campaigns of independent answers "
              f"{int((main < 0).sum())} (answers repeating the same real arguments)")
    os.environ.pop(sampled.CHUNK_ENV, None)


def _score(truth: list[str], pred: list[object]) -> str:
    t = np.asarray(truth, dtype=object)
    p = pd.Series(pred, dtype=object)
    t_lab = np.where(t == "", -1, pd.factorize(t)[0])
    p_lab = np.where(p.isna(), -1, pd.factorize(p.fillna(""))[0])
    prec, rec, f1 = pairwise_prf(t_lab, p_lab)
    return f"precision {prec:.4f} recall {rec:.4f} F1 {f1:.4f}"


def generated(sizes: list[int], share_1: float, share_2: float, settings: CampaignSettings, seed: int) -> None:
    """CPU time and quality of ``detect`` / ``detect_submissions`` on generated consultations of each size."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from generated_consultation import OPEN_QUESTIONS, generate

    from analysis.campaigns.stage import detect, detect_submissions

    times: list[tuple[int, float, float]] = []
    for n in sizes:
        gen = generate(n, seed, share_1, share_2)
        answers = gen.answers
        c0 = time.process_time()
        clean, camps = detect(answers, OPEN_QUESTIONS, settings, seed)
        t_q = time.process_time() - c0
        c0 = time.process_time()
        subs = detect_submissions(answers, OPEN_QUESTIONS, settings, seed)
        t_s = time.process_time() - c0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        times.append((n, t_q, t_s))
        other = clean["question_id"] == "q5_other"
        print(f"generated n={n}: {len(answers)} answers; detect {t_q:.1f}s CPU, detect_submissions {t_s:.1f}s CPU, "
              f"peak RSS {rss:.0f} MiB")
        print(f"  per question: {len(camps)} campaigns, sizes {camps['size'].tolist()[:12]}")
        print(f"  q5_other membership: {_score(clean.loc[other, 'truth'].tolist(), clean.loc[other, 'campaign_id'].tolist())}")
        print(f"  all open answers membership: {_score(clean['truth'].tolist(), clean['campaign_id'].tolist())}")
        rids = sorted(gen.respondent_campaign)
        group = dict(zip(subs["response_id"], subs["campaign_id"], strict=True))
        sizes_s = subs["campaign_id"].value_counts()
        mix = {}
        if len(sizes_s):
            members = subs.loc[subs["campaign_id"] == sizes_s.index[0], "response_id"]
            mix = pd.Series([gen.respondent_campaign[r] or "none" for r in members]).value_counts().to_dict()
        print(f"  submissions: {len(sizes_s)} groups, sizes {sizes_s.tolist()[:12]}; largest holds {mix}; "
              f"{_score([gen.respondent_campaign[r] for r in rids], [group.get(r) for r in rids])}")
    for (n0, q0, s0), (n1, q1, s1) in zip(times, times[1:], strict=False):
        k = np.log(n1 / n0)
        print(f"growth {n0}->{n1}: detect exponent {np.log(q1 / q0) / k:.2f}, "
              f"detect_submissions exponent {np.log(s1 / s0) / k:.2f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="folder holding argkp-2021/ (all modes but --generated)")
    ap.add_argument("--generated", type=int, nargs="*", help="sizes of generated consultations to time")
    ap.add_argument("--share1", type=float, default=0.2, help="--generated: share of campaign-1 respondents")
    ap.add_argument("--share2", type=float, default=40 / 1500, help="--generated: share of campaign-2 respondents")
    ap.add_argument("--scale", type=int, default=0, help="run the scale benchmark with this many texts")
    ap.add_argument("--sweep", action="store_true", help="sweep thresholds on a second generated corpus")
    ap.add_argument("--sampled", type=int, nargs="*",
                    help="whole detection vs rounds of tasks of these many distinct texts (corpus of --scale texts)")
    ap.add_argument("--seed", type=int, default=20211)
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1], help="project root (sample)")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = CampaignSettings()
    if a.generated:
        generated(a.generated, a.share1, a.share2, settings, a.seed)
        return 0
    if a.data is None:
        ap.error("--data is required")
    args = load_arguments(a.data)
    if a.sampled:
        sampled_rounds(args, a.scale or 200_000, a.sampled, settings, a.seed)
        return 0
    if a.scale:
        scale(args, a.scale, settings, a.seed)
        return 0
    quality(args, settings, a.seed)
    compare_datasketch(args, settings, a.seed)
    sample_ground_truth(a.root, settings, a.seed)
    if a.sweep:
        sweep(args, a.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
