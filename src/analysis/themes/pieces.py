"""Word and bigram counts of many texts, counted once per distinct sentence (discovery's keyword counts).

Discovery counts words and bigrams twice: each topic's most frequent terms (:func:`analysis.themes.discovery._keywords`)
and BERTopic's c-TF-IDF, which joins each topic's answers into one document for a ``CountVectorizer``
(:func:`analysis.themes.discovery._ctfidf_keywords`). Counted that way, every campaign letter is analysed in full,
sentence by sentence the same as the thousands of copies before it. Here a text is cut into pieces at characters no
token can hold (sentence ends, line breaks), each distinct piece is analysed once and counted as often as it occurs,
and the bigrams that join one piece's last kept token to the next piece's first (within a text, and from one text
to the next in a joined document) are added. The counts, and the order in which terms are first met (which numbers
a vectoriser's vocabulary), are exactly the vectoriser's: ``tests/test_themes.py`` compares them on real answers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

#: scikit-learn's default ``token_pattern``.
_SKLEARN_TOKEN = re.compile(r"(?u)\b\w\w+\b")
#: Where a lower-cased text is cut for :func:`keyword_totals`: sentence ends and line breaks (characters a token
#: never holds, so the tokens of the pieces, in order, are the text's).
_PIECE = re.compile(r"[.!?\n]+")
#: Where a text is cut for :class:`JoinedCountVectorizer`: a sentence end before a space, tab or line break, and a
#: line break — separators that BERTopic's cleaning turns into exactly one space, so the cleaned pieces joined by
#: spaces are the cleaned text (each is replaced by a line break, then the text is split at line breaks).
_CLEAN_SEPARATORS = tuple(f"{end}{space}" for end in ".!?" for space in " \t\n")
#: BERTopic's English cleaning of a topic's document: what it removes (after tabs and line breaks became spaces).
_UNCLEAN = re.compile(r"[^A-Za-z0-9 ]+")


def _tokens(text: str, stop: frozenset[str] | None) -> list[str]:
    """The vectoriser's tokens of lower-cased ``text``, stop words dropped."""
    tokens = _SKLEARN_TOKEN.findall(text)
    return tokens if stop is None else [t for t in tokens if t not in stop]


def terms(text: str, stop: frozenset[str] | None) -> list[str]:
    """What ``CountVectorizer(stop_words=stop, ngram_range=(1, 2)).build_analyzer()`` returns for ``text``."""
    tokens = _tokens(text.lower(), stop)
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def keyword_totals(texts: Sequence[str], stop: frozenset[str] | None) -> Counter[str]:
    """The column totals of ``CountVectorizer(stop_words=stop, ngram_range=(1, 2)).fit_transform(texts)``."""
    pieces: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    ends: dict[str, tuple[str, str] | None] = {}
    for text, n in Counter(texts).items():
        last = None
        for piece in _PIECE.split(text.lower()):
            pieces[piece] += n
            edge = ends.get(piece, 0)
            if edge == 0:
                tokens = _tokens(piece, stop)
                edge = ends[piece] = (tokens[0], tokens[-1]) if tokens else None
            if edge is not None:
                if last is not None:
                    totals[f"{last} {edge[0]}"] += n
                last = edge[1]
    for piece, n in pieces.items():
        if ends[piece] is None:
            continue
        if n == 1:
            totals.update(terms(piece, stop))
        else:
            for term, c in Counter(terms(piece, stop)).items():
                totals[term] += c * n
    return totals


class JoinedCountVectorizer(CountVectorizer):
    """``CountVectorizer(stop_words="english", ngram_range=(1, 2))`` of documents given as lists of texts.

    Document ``i`` is the one BERTopic builds for a topic: its texts joined by spaces, tabs and line breaks made
    spaces, every character but ``[A-Za-z0-9 ]`` removed, and ``"emptydoc"`` when nothing is left. Only the
    counting (``_count_vocab``) is replaced; the vocabulary is numbered in the order the vectoriser meets each
    term, so feature sorting and everything after run unchanged on the same matrix.
    """

    def __init__(self) -> None:
        super().__init__(stop_words="english", ngram_range=(1, 2), min_df=1)

    def _count_vocab(self, raw_documents, fixed_vocab):  # noqa: ANN001, ANN202 - scikit-learn's signature
        if fixed_vocab:
            raise NotImplementedError("fit only")
        split: dict[str, list[str]] = {}  # text -> its pieces, for every document
        tokens_of: dict[str, list[str]] = {}  # piece -> its kept tokens
        vocabulary, x = _vocab_matrix([joined_counts([joined_part(list(texts), split, tokens_of)])
                                       for texts in raw_documents])
        return vocabulary, _sparse_api(x)


def _clean(text: str) -> str:
    """BERTopic's cleaning of an English document."""
    return _UNCLEAN.sub("", text.replace("\n", " ").replace("\t", " "))


def _pieces(text: str, split: dict[str, list[str]]) -> list[str]:
    """``text`` cut at :data:`_CLEAN_SEPARATORS` and line breaks (once per distinct text)."""
    got = split.get(text)
    if got is None:
        cut = text
        for sep in _CLEAN_SEPARATORS:
            if sep in cut:
                cut = cut.replace(sep, "\n")
        got = split[text] = cut.split("\n")
    return got


def _sparse_api(x: sp.csr_array):  # noqa: ANN202 - scikit-learn's own helper decides the type
    """The matrix in the sparse API scikit-learn's ``_count_vocab`` returns (array or matrix)."""
    from sklearn.feature_extraction.text import _align_api_if_sparse

    return _align_api_if_sparse(x)



class JoinedPart:
    """The counts of a run of consecutive texts of one joined document (:class:`JoinedCountVectorizer`'s).

    A document's counts are the sum of its parts' counts plus, between two consecutive parts, the bigram joining the
    first part's last kept token to the next part's first (:func:`joined_counts`), so a topic's document can be
    counted a chunk of its answers at a time, each chunk on its own. The terms are also kept in the order the
    vectoriser first meets them (unigrams, then bigrams), which numbers its vocabulary and so orders the stored
    entries of its matrix (what the c-TF-IDF's ties are broken by).

    Attributes:
        counts: Term -> count in these texts.
        uni: The unigrams in the order met (a term's first place is what counts).
        bi: The bigrams in the order met.
        first: The first kept token, or ``None`` (no token).
        last: The last kept token, or ``None``.
        n_texts: Texts in the run.
        blank: Whether the run is one text with nothing left after cleaning.
    """

    __slots__ = ("counts", "uni", "bi", "first", "last", "n_texts", "blank")

    def __init__(self, counts: Counter[str], uni: list[str], bi: list[str], first: str | None, last: str | None,
                 n_texts: int, blank: bool):
        self.counts, self.uni, self.bi = counts, uni, bi
        self.first, self.last, self.n_texts, self.blank = first, last, n_texts, blank

    def __reduce__(self):  # noqa: ANN204 - sent between processes
        return JoinedPart, (self.counts, self.uni, self.bi, self.first, self.last, self.n_texts, self.blank)


def joined_part(texts: Sequence[str], split: dict[str, list[str]] | None = None,
                tokens_of: dict[str, list[str]] | None = None, *, once: bool = False) -> JoinedPart:
    """:class:`JoinedPart` of ``texts`` (consecutive texts of a joined document), counted as
    :class:`JoinedCountVectorizer` counts a document: each distinct piece analysed once.

    ``split`` (text -> pieces) and ``tokens_of`` (piece -> kept tokens) are caches shared by the caller's documents.
    ``once``: each term kept once in ``uni`` and ``bi`` (a part sent to another process: smaller).
    """
    stop = ENGLISH_STOP_WORDS
    split = {} if split is None else split
    tokens_of = {} if tokens_of is None else tokens_of
    counts: Counter[str] = Counter()
    piece_n: Counter[str] = Counter()
    uni: list[str] = []  # repeats are harmless: a vocabulary keeps a term's first number
    bi: list[str] = []
    first = last = None
    for piece in (p for t in texts for p in _pieces(t, split)):
        toks = tokens_of.get(piece)
        if toks is None:
            toks = tokens_of[piece] = _tokens(_clean(piece).lower(), stop)
        if not toks:
            continue
        if last is not None:
            bigram = f"{last} {toks[0]}"
            bi.append(bigram)
            counts[bigram] += 1
        else:
            first = toks[0]
        if piece not in piece_n:
            uni.extend(toks)
            bi.extend(f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False))
        piece_n[piece] += 1
        last = toks[-1]
    for piece, n in piece_n.items():
        toks = tokens_of[piece]
        for term, c in Counter(toks + [f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]).items():
            counts[term] += c * n
    if once:
        uni, bi = list(dict.fromkeys(uni)), list(dict.fromkeys(bi))
    return JoinedPart(counts, uni, bi, first, last, len(texts), len(texts) == 1 and not _clean(texts[0]))


def joined_counts(parts: Sequence[JoinedPart]) -> tuple[list[str], Counter[str]]:
    """The document made of ``parts`` (in order), as :class:`JoinedCountVectorizer` counts it.

    Returns:
        ``(terms, counts)``: its terms in the order the vectoriser first meets them, and their counts.
    """
    if sum(p.n_texts for p in parts) == 1 and any(p.blank for p in parts):
        return ["emptydoc"], Counter({"emptydoc": 1})  # BERTopic's stand-in for a document with nothing left
    if len(parts) == 1:  # a whole document: its own counts (not copied)
        return parts[0].uni + parts[0].bi, parts[0].counts
    total: Counter[str] = Counter()
    uni: list[str] = []
    bi: list[str] = []
    last = None
    for p in parts:
        total.update(p.counts)
        uni.extend(p.uni)
        if p.first is not None:
            if last is not None:
                bigram = f"{last} {p.first}"
                total[bigram] += 1
                bi.append(bigram)
            last = p.last
        bi.extend(p.bi)
    return uni + bi, total


def _vocab_matrix(docs: Sequence[tuple[list[str], Counter[str]]]) -> tuple[dict[str, int], sp.csr_array]:
    """The vocabulary (numbered in the order its terms are first met) and the count matrix of the documents
    :func:`joined_counts` counted, entries sorted by vocabulary number: what the vectoriser's counting returns.

    Raises:
        ValueError: No term in any document (the vectoriser's empty-vocabulary error).
    """
    vocabulary: dict[str, int] = {}
    for terms_met, _ in docs:
        for term in terms_met:
            vocabulary.setdefault(term, len(vocabulary))
    if not vocabulary:
        raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
    indptr = np.zeros(len(docs) + 1, dtype=np.int64)
    np.cumsum([len(c) for _, c in docs], out=indptr[1:])
    index_dtype = np.int32 if indptr[-1] <= np.iinfo(np.int32).max else np.int64
    cols = np.fromiter((vocabulary[t] for _, c in docs for t in c), dtype=np.int64, count=int(indptr[-1]))
    vals = np.fromiter((n for _, c in docs for n in c.values()), dtype=np.intc, count=int(indptr[-1]))
    x = sp.csr_array((vals, cols.astype(index_dtype), indptr.astype(index_dtype)),
                     shape=(len(docs), len(vocabulary)), dtype=np.int64)
    x.sort_indices()
    return vocabulary, x


def count_matrix(docs: Sequence[tuple[list[str], Counter[str]]]):  # noqa: ANN201 - scikit-learn's sparse type
    """``(x, words)``: what ``JoinedCountVectorizer().fit_transform`` and ``get_feature_names_out`` give for the
    documents :func:`joined_counts` counted, bit for bit and in the same storage order.

    Raises:
        ValueError: No term in any document (the vectoriser's empty-vocabulary error).
    """
    vocabulary, x = _vocab_matrix(docs)
    words = sorted(vocabulary)  # the vectoriser's feature sorting: the columns renumbered, the entries left in place
    new = np.empty(len(words), dtype=x.indices.dtype)
    for j, term in enumerate(words):
        new[vocabulary[term]] = j
    x.indices = new.take(x.indices, mode="clip")
    return _sparse_api(x), np.asarray(words, dtype=object)
