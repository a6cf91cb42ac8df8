"""Fuzzy product matching between two catalogues that share no codes (pure pandas, numpy, scikit-learn).

A *wording* is one description of a product: name, brand, category, model number, size and the
prices seen with it (a product may have several: an ERP renames, a till abbreviates). Each wording
belongs to an *entity*, the thing being linked (a product, a web id, a till item).

1. Candidates (:func:`candidate_pairs`): for every wording the ``k`` most similar wordings of the
   other side by TF-IDF over words, model codes and character 4-grams (scikit-learn). Brand and size
   are not required. A term shared by more than ``max_block`` cross pairs is not used to find
   candidates, so the work per term is bounded and cost grows near-linearly with catalogue size.
2. Comparisons (:func:`compare`): word and character TF-IDF cosine, abbreviation-aware word overlap
   (a till's ``SPRKL`` for ``sparkling``), model codes (an equal model number is strong evidence, two
   different codes evidence against: ``am00777`` is not ``am00778``), quantities (``2gb`` against
   ``16gb``, ``2007`` against ``2008``, ``5.6%`` against ``6.8%`` are evidence against), brand and
   category where present. Price is weak evidence: it only breaks ties.
3. Scoring (:func:`train_scorer`): logistic regression (scikit-learn) on comparison vectors. Its
   labels need no person: the one-to-one constraint implies them (a pair that is both records' best
   candidate and has strong evidence is a match, every other candidate of those two records is not).
   A steward's labels from the review queue override those and weigh more. Plain Fellegi-Sunter EM
   was measured and dropped: among nearest neighbours its "match" class becomes "similar product"
   (test F1 0.64-0.68 on Walmart-Amazon against 0.81 here; benchmarks/product_matching.py).
4. Linking (:func:`one_to_one`): best first, each entity of either side linked at most once (each
   system lists a product once); equal best candidates that price cannot separate are left unlinked.

Splink's comparison library has no model-number or quantity comparisons and its EM is the model
that failed above, so comparisons here are small hand-written functions; the README says so.
"""

from __future__ import annotations

import functools
import html
import re

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

MATCH_THRESHOLD = 0.5  # the scorer's probability: more likely a match than not
REVIEW_BAND = (0.2, 0.8)  # pairs a steward is asked about
MIN_LABELS_PER_CLASS = 10
WORDING_COLUMNS = ("name", "brand", "category", "model_no", "size")
UNITS = (r"(?:gb|tb|mb|kb|ghz|mhz|hz|in|inch|inches|ft|feet|mm|cm|m|ml|cl|l|oz|lb|lbs|g|kg|w|kw|v|mah|ah|x|pk|pack|"
         r"ct|count|pc|pcs|%|mp|pages|sheets|rpm|db|dpi|ppm)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_QUANTITY = re.compile(rf"(\d+(?:\.\d+)?)({UNITS})")
_MULTIPACK = re.compile(rf"(\d+)x(\d+(?:\.\d+)?)({UNITS})")  # 6x330ml
_TOKEN = re.compile(r"[a-z0-9]+(?:[.\-/][a-z0-9]+)*%?")
_WORD = r"[a-z0-9]+"
_UNIT = re.compile(UNITS)
LEVELLED = ("code", "number", "brand")


def fold(value) -> str:
    """Lower case, HTML entities decoded, one space between words; missing is ''."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return re.sub(r"\s+", " ", html.unescape(html.unescape(str(value))).lower()).strip()


def parse_evidence(text: str) -> tuple[frozenset, frozenset]:
    """Model codes (letters with digits, separators dropped) and quantities ('500gb', '5.6%', '2007')."""
    codes, numbers = set(), set()
    tokens = _TOKEN.findall(text)
    for i, token in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        squashed = re.sub(r"[.\-/]", "", token)
        if _NUMBER.fullmatch(token) and re.fullmatch(UNITS, following):
            numbers.add(f"{float(token):g}{following}")
        elif multipack := _MULTIPACK.fullmatch(token):
            numbers |= {f"{multipack.group(1)}x", f"{float(multipack.group(2)):g}{multipack.group(3)}"}
        elif quantity := _QUANTITY.fullmatch(token.replace("-", "")):
            numbers.add(f"{float(quantity.group(1)):g}{quantity.group(2)}")
        elif _NUMBER.fullmatch(token.rstrip("%")):
            numbers.add(f"{float(token.rstrip('%')):g}" + ("%" if token.endswith("%") else ""))
        elif re.search(r"\d", squashed) and re.search(r"[a-z]", squashed) and len(squashed) >= 3:
            codes.add(squashed)
    return frozenset(codes), frozenset(numbers)


def wordings(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (entity_id, any of name/brand/category/model_no/size, prices: list of floats) folded,
    with the evidence the comparisons read and a row id."""
    out = pd.DataFrame({"entity_id": frame["entity_id"].astype(str).to_numpy()})
    for column in WORDING_COLUMNS:
        out[column] = frame[column].map(fold).to_numpy() if column in frame else ""
    out["prices"] = (frame["prices"].to_numpy() if "prices" in frame else [[] for _ in range(len(frame))])
    out["prices"] = [[float(p) for p in (ps if ps is not None else []) if p is not None and p == p] for ps in out["prices"]]
    out = out.drop_duplicates(subset=["entity_id", *WORDING_COLUMNS]).reset_index(drop=True)
    parsed = (out["name"] + " " + out["size"]).map(parse_evidence)
    out["model_codes"] = out["model_no"].map(lambda m: frozenset({re.sub(r"[^a-z0-9]", "", m)} - {""}))
    out["codes"] = [c | m for (c, _), m in zip(parsed, out["model_codes"], strict=True)]
    out["numbers"] = [n for _, n in parsed]
    out["letter_words"] = out["name"].map(lambda name: frozenset(_letter_words(name)))
    out["text"] = (out["brand"] + " " + out["name"] + " " + out["model_no"] + " " + out["size"]).str.strip()
    return out


def _top_k_per_row(similarity: sp.csr_matrix, k: int) -> np.ndarray:
    found = []
    for i in range(similarity.shape[0]):
        start, end = similarity.indptr[i], similarity.indptr[i + 1]
        if end > start:
            best = np.argsort(-similarity.data[start:end], kind="stable")[:k]
            found.append(np.c_[np.full(len(best), i), similarity.indices[start:end][best]])
    return np.concatenate(found) if found else np.empty((0, 2), dtype=int)


def _bounded(vectorizer: TfidfVectorizer, left: pd.Series, right: pd.Series, max_block: int):
    both = vectorizer.fit_transform(pd.concat([left, right]))
    a, b = both[:len(left)].tocsc(), both[len(left):].tocsc()
    shared = np.asarray((a > 0).sum(0)).ravel().astype(np.int64) * np.asarray((b > 0).sum(0)).ravel()
    usable = np.flatnonzero(shared <= max_block)
    return a[:, usable].tocsr(), b[:, usable].tocsr()


def candidate_pairs(left: pd.DataFrame, right: pd.DataFrame, k: int = 10, max_block: int = 5000,
                    chunk: int = 2000) -> pd.DataFrame:
    """Row positions (left_row, right_row) of every wording's ``k`` nearest wordings on the other side."""
    if left.empty or right.empty:
        return pd.DataFrame({"left_row": pd.Series(dtype=int), "right_row": pd.Series(dtype=int)})
    found = []
    for vectorizer in (TfidfVectorizer(token_pattern=_WORD, sublinear_tf=True, dtype=np.float32),
                       TfidfVectorizer(analyzer="char_wb", ngram_range=(4, 4), sublinear_tf=True, dtype=np.float32)):
        a, b = _bounded(vectorizer, left.text, right.text, max_block)
        for x, y, flip in ((a, b, False), (b, a, True)):
            for start in range(0, x.shape[0], chunk):
                rows = _top_k_per_row((x[start:start + chunk] @ y.T).tocsr(), k)
                rows[:, 0] += start
                found.append(rows[:, ::-1] if flip else rows)
    pairs = np.unique(np.concatenate(found), axis=0)
    return pd.DataFrame({"left_row": pairs[:, 0], "right_row": pairs[:, 1]})


def _abbreviates(short: str, long: str) -> bool:
    """``short`` is ``long`` squeezed: same first letter, letters in order, at least half its length
    (``sprkl`` for ``sparkling``; not ``pro`` for ``professional`` nor ``win`` for ``windows``)."""
    if short == long:
        return True
    if len(short) < 3 or len(short) * 2 < len(long) or short[0] != long[0] or short.isdigit():
        return False
    position = 0
    for letter in short:
        position = long.find(letter, position) + 1
        if position == 0:
            return False
    return True


@functools.lru_cache(maxsize=1 << 20)
def _alike(a: str, b: str) -> bool:
    """One word abbreviates the other (cached: catalogues repeat their words across many pairs)."""
    return _abbreviates(a, b) or _abbreviates(b, a)


def _letter_words(text: str) -> set[str]:
    """Words of letters, units left out (quantities are compared on their own)."""
    return {w for w in re.findall(r"[a-z]+", text) if len(w) > 1 and not _UNIT.fullmatch(w)}


def abbreviated_overlap(a: frozenset, b: frozenset) -> float:
    """Dice coefficient of two sets of letter words, an abbreviation counting as its word."""
    if not a or not b:
        return 0.0

    def found(word: str, others: frozenset) -> bool:
        return word in others or any(o[0] == word[0] and _alike(word, o) for o in others)

    return (sum(found(x, b) for x in a) + sum(found(y, a) for y in b)) / (len(a) + len(b))


def code_level(left_codes, right_codes, left_model, right_model) -> float:
    """3: a model number is the other's model number or one of its codes; 2: a code shared; 1: one code
    extends the other (a variant suffix); 0: both carry codes and none agree (evidence against)."""
    if not left_codes or not right_codes:
        return np.nan
    if (left_model & right_codes) or (right_model & left_codes):
        return 3.0
    if left_codes & right_codes:
        return 2.0
    if any(len(x) >= 4 and len(y) >= 4 and (x.startswith(y) or y.startswith(x)) for x in left_codes for y in right_codes):
        return 1.0
    return 0.0


def number_level(left, right) -> float:
    """3: the same quantities; 2: one's are a subset of the other's; 1: some shared; 0: none shared."""
    if not left or not right:
        return np.nan
    if left == right:
        return 3.0
    if left <= right or right <= left:
        return 2.0
    return 1.0 if left & right else 0.0


def brand_level(left: str, right: str, left_text: str, right_text: str) -> float:
    """3: equal; 2: one's first word begins the other's (``north`` on a till for Northwind), or the
    one brand given is a word of the other's text; 0: different."""
    if left and right:
        if left == right:
            return 3.0
        a, b = left.split()[0], right.split()[0]
        return 2.0 if a.startswith(b) or b.startswith(a) else 0.0
    given, other = (left, right_text) if left else (right, left_text)
    return 2.0 if given and given.split()[0] in other.split() else np.nan


def _price_agrees(left: list[float], right: list[float]) -> bool:
    return any(abs(a - b) < 0.005 for a in left for b in right)


def compare(pairs: pd.DataFrame, left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Comparison vector of every candidate pair, with its entities and whether a price agrees."""
    L, R = left.iloc[pairs.left_row].reset_index(drop=True), right.iloc[pairs.right_row].reset_index(drop=True)

    def cosine(vectorizer: TfidfVectorizer, column: str) -> np.ndarray:
        both = vectorizer.fit_transform(pd.concat([left[column], right[column]])).tocsr()
        a = both[:len(left)][pairs.left_row.to_numpy()]
        b = both[len(left):][pairs.right_row.to_numpy()]
        return np.asarray(a.multiply(b).sum(1)).ravel()

    out = pd.DataFrame({"left_id": L.entity_id, "right_id": R.entity_id,
                        "left_row": pairs.left_row.to_numpy(), "right_row": pairs.right_row.to_numpy()})
    if out.empty:
        return out.assign(**{c: pd.Series(dtype=float) for c in (*FEATURES, "price_agrees")})
    out["name_words"] = cosine(TfidfVectorizer(token_pattern=_WORD, sublinear_tf=True), "text")
    out["name_chars"] = cosine(TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True), "text")
    out["abbreviated"] = [abbreviated_overlap(a, b) for a, b in zip(L.letter_words, R.letter_words, strict=True)]
    no_category = ((L.category == "") | (R.category == "")).to_numpy()
    has_category = bool((left.category != "").any() and (right.category != "").any())
    categories = cosine(TfidfVectorizer(token_pattern=_WORD), "category") if has_category else np.zeros(len(out))
    out["category"] = np.where(no_category, np.nan, categories)
    out["code"] = [code_level(*x) for x in zip(L.codes, R.codes, L.model_codes, R.model_codes, strict=True)]
    out["number"] = [number_level(a, b) for a, b in zip(L.numbers, R.numbers, strict=True)]
    out["brand"] = [brand_level(*x) for x in zip(L.brand, R.brand, L.text, R.text, strict=True)]
    out["price_agrees"] = [_price_agrees(a, b) for a, b in zip(L.prices, R.prices, strict=True)]
    return out


FEATURES = ("name_words", "name_chars", "abbreviated", "category", "code", "number", "brand")


def design_matrix(features: pd.DataFrame) -> pd.DataFrame:
    """Similarities as they are, missing evidence and each level of the levelled comparisons as indicators."""
    x = pd.DataFrame({"name_words": features.name_words, "name_chars": features.name_chars,
                      "abbreviated": features.abbreviated, "category": features.category.fillna(0.0),
                      "category_missing": features.category.isna().astype(float)})
    for column in LEVELLED:
        for level in (0, 1, 2, 3):
            x[f"{column}_{level}"] = (features[column] == level).astype(float)
    return x


def _mutual_best(features: pd.DataFrame, score: pd.Series) -> pd.Series:
    return (score == score.groupby(features.left_id).transform("max")) & (score == score.groupby(features.right_id).transform("max"))


def similarity(features: pd.DataFrame) -> pd.Series:
    """One similarity to rank candidates by before anything is trained: the mean of the three wording ones."""
    return (features.name_words + features.name_chars + features.abbreviated) / 3


def uncontradicted(features: pd.DataFrame) -> pd.Series:
    """No comparison speaks against the pair: no different model code, quantity or brand."""
    return (features.number != 0) & (features.brand != 0) & (features.code != 0)


def strong_evidence(features: pd.DataFrame, near_identical: float = 0.8) -> pd.Series:
    """Evidence no look-alike is expected to have: an equal model number, near-identical wording, or a
    shared code or abbreviated wording with the same quantities that nothing contradicts."""
    agrees = uncontradicted(features)
    return ((features.code == 3) | (features.name_chars >= near_identical)
            | (agrees & (features.code == 2)) | (agrees & (features.number == 3) & (features.abbreviated >= 0.6)))


def implied_labels(features: pd.DataFrame) -> pd.Series:
    """Labels the one-to-one constraint implies: a pair that is both entities' most similar candidate
    (a contradicted pair ranks half a point lower) and has strong evidence is a match; every other
    candidate of those two entities is a non-match. NaN elsewhere."""
    ranked = similarity(features) - 0.5 * (~uncontradicted(features))
    positive = _mutual_best(features, ranked) & strong_evidence(features)
    touched = features.left_id.isin(features.left_id[positive]) | features.right_id.isin(features.right_id[positive])
    return pd.Series(np.where(positive, 1.0, np.where(touched, 0.0, np.nan)), index=features.index)


def steward_decisions(features: pd.DataFrame, labels: pd.DataFrame | None) -> pd.Series:
    """1.0 / 0.0 where a steward said match / non_match about a pair's entities, NaN elsewhere."""
    if labels is None or labels.empty:
        return pd.Series(np.nan, index=features.index)
    decided = labels[labels.label.isin(["match", "non_match"])].drop_duplicates(["left_id", "right_id"], keep="last")
    decided = decided.assign(value=(decided.label == "match").astype(float))[["left_id", "right_id", "value"]]
    merged = features[["left_id", "right_id"]].merge(decided, how="left", on=["left_id", "right_id"])
    return pd.Series(merged.value.to_numpy(), index=features.index)


def train_scorer(features: pd.DataFrame, stewards: pd.Series, steward_weight: float = 5.0) -> LogisticRegression | None:
    """Logistic regression on the implied labels, a steward's labels overriding them; None when either
    class has fewer than :data:`MIN_LABELS_PER_CLASS` labels (too little to learn a difference from)."""
    labels = implied_labels(features).where(stewards.isna(), stewards)
    weights = pd.Series(1.0, index=features.index).where(stewards.isna(), steward_weight)
    known = labels.notna()
    if min((labels[known] == 1).sum(), (labels[known] == 0).sum()) < MIN_LABELS_PER_CLASS:
        return None
    return LogisticRegression(C=10.0, max_iter=3000).fit(design_matrix(features[known]), labels[known], sample_weight=weights[known])


def score(features: pd.DataFrame, labels: pd.DataFrame | None = None) -> tuple[pd.DataFrame, str]:
    """Each entity pair's match probability (its best-scoring wording pair), and how it was scored.

    With too little to learn from (a small catalogue), the implied labels decide: a pair scores 1
    when it is both entities' most similar candidate with strong evidence, else 0; the method says so."""
    if features.empty:
        return features.assign(match_probability=pd.Series(dtype=float)), "no candidate pairs"
    stewards = steward_decisions(features, labels)
    model = train_scorer(features, stewards)
    if model is None:
        probability, method = implied_labels(features).fillna(0.0).to_numpy(), "implied labels only (too few to train a model)"
    else:
        probability = model.predict_proba(design_matrix(features))[:, 1]
        method = f"logistic regression on {int(implied_labels(features).notna().sum())} implied and {int(stewards.notna().sum())} steward labels"
    # a steward's word is final for the pair they judged
    scored = features.assign(match_probability=np.where(stewards.isna(), probability, stewards))
    best = scored.sort_values("match_probability", ascending=False, kind="stable").drop_duplicates(["left_id", "right_id"])
    return best.reset_index(drop=True), method


def one_to_one(scored: pd.DataFrame, threshold: float = MATCH_THRESHOLD) -> tuple[pd.DataFrame, set[str]]:
    """Links (best first, each entity once) and the right entities left unlinked because two left
    entities fit equally well and no price tells them apart."""
    ranked = scored[scored.match_probability >= threshold].assign(_rounded=lambda d: d.match_probability.round(3))
    ranked = ranked.sort_values(["_rounded", "price_agrees", "left_id", "right_id"], ascending=[False, False, True, True], kind="stable")
    top = ranked.drop_duplicates("right_id")
    runner_up = ranked[~ranked.index.isin(top.index)].drop_duplicates("right_id").set_index("right_id")
    contested = top.set_index("right_id").join(runner_up[["_rounded", "price_agrees"]], rsuffix="_next", how="inner")
    ambiguous = set(contested.index[(contested._rounded == contested._rounded_next) & (contested.price_agrees == contested.price_agrees_next)])
    linked_left, linked_right, keep = set(), set(ambiguous), []
    for index, a, b in zip(ranked.index, ranked.left_id, ranked.right_id, strict=True):
        if a not in linked_left and b not in linked_right:
            linked_left.add(a)
            linked_right.add(b)
            keep.append(index)
    return ranked.loc[keep].drop(columns="_rounded"), ambiguous


def explain(row: pd.Series) -> str:
    """The evidence of a scored pair in words, for the cross-reference and the review queue."""
    parts = [f"p={row.match_probability:.3f}", f"words {row.name_words:.2f}", f"characters {row.name_chars:.2f}"]
    names = {3.0: "equal", 2.0: "shared", 1.0: "variant", 0.0: "different"}
    for column in LEVELLED:
        if not pd.isna(row[column]):
            parts.append(f"{column} {names[row[column]] if column != 'brand' else {3.0: 'equal', 2.0: 'alike', 0.0: 'different'}[row[column]]}")
    if row.price_agrees:
        parts.append("a price agrees")
    return ", ".join(parts)


def link(left: pd.DataFrame, right: pd.DataFrame, labels: pd.DataFrame | None = None, *, k: int = 10,
         threshold: float = MATCH_THRESHOLD) -> tuple[pd.DataFrame, pd.DataFrame, set[str], str]:
    """Link two sides' entities: (links, every scored entity pair, ambiguous right entities, method).

    ``left``/``right``: see :func:`wordings` (already folded). ``labels``: a steward's (left_id,
    right_id, label in match / non_match / unsure) for pairs of these entities."""
    pairs = candidate_pairs(left, right, k=k)
    scored, method = score(compare(pairs, left, right), labels)
    links, ambiguous = one_to_one(scored, threshold)
    return links, scored, ambiguous, method
