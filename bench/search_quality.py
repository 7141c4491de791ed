"""Personalized product search quality on amazon_scientific (protocol: HEM, Ai et al. 2017).

    python -m bench.search_quality --data ../shared/datasets/amazon_scientific --json OUT
        [--model-seconds 120] [--candidates 100] [--quick]

For each (user, target) pair the query is the target's category path (its words,
lower-cased, de-duplicated, stop words removed). The catalogue is imported into the
benchmark's own database (bench/_django.py: DATABASE_URL's server, or SQLite) and the
shop's search service (shop.search.service.search_products, non-personalized) retrieves up to
``--candidates`` products for the query: that list in its order is the *lexical* order.
Over the same candidates the benchmark also ranks by plain BM25 (k1 1.2, b 0.75, on the
product text) and by the *personalized* blend: BM25, the shop's text score, popularity,
the recommender's item-to-item transitions from the shopper's history, the active
model's affinity (user vector . item vector of the Transformer, trained here on the
training part), the share of the shopper's history of the same brand and whether the
shopper already bought the product, plus the reciprocal rank among the candidates of
each personal signal. The blend's
weights are learned on the validation targets (listwise learning to rank,
recommender.ml.ranking.fit_blend) and evaluated on the test targets. A target the
retrieval misses counts as rank infinity (reciprocal rank 0) for every ordering.

Data: "J. McAuley et al., Image-based recommendations on styles and substitutes, SIGIR
2015"; "R. He, J. McAuley, Ups and downs, WWW 2016"; UniSRec-format files from
ysh-1998/CoWPiRec.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from bench import _django  # noqa: E402
from bench._common import add_set_option, command_line, config_overrides, report_write  # noqa: E402

STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "without",
        "&",
        "s",
    ]
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
K1, B = 1.2, 0.75
# Features of the personalized blend (columns of the per-query matrices).
FEATURES = (
    "bm25",
    "text",
    "popularity",
    "transitions",
    "affinity",
    "brand",
    "co_bought",
    "content",
    "similarity",
    "bought",
    # 1 / rank of a personal signal among the query's candidates: a linear blend cannot
    # express "the model's first choice" from the raw scores alone (chosen on the
    # validation targets: MRR 0.4259 -> 0.4286).
    *(f"{name}_rr" for name in ("affinity", "similarity", "content", "transitions", "co_bought")),
)
RANKED_FEATURES = ("affinity", "similarity", "content", "transitions", "co_bought")
# The subset RecommenderPersonalizer computes live (see recommender.ml.ranking).
LIVE_FEATURES = ("text", "affinity", "popularity", "similarity", "bought")
# As recommender.serving.search.SIMILARITY_RECENT_ITEMS (not imported: Django is set up later).
SIMILARITY_RECENT_ITEMS = 3


def parse_text(text: str) -> tuple[str, str, str]:
    """'title. category path. brand.' -> (title, category path, brand)."""
    text = text.strip()
    if text.endswith("."):
        text = text[:-1]
    parts = text.rsplit(". ", 2)
    while len(parts) < 3:
        parts.insert(0, "")
    return parts[0].strip(), parts[1].strip(), parts[2].strip()


def query_for(category_path: str) -> str:
    words = [w.lower() for w in _WORD.findall(category_path)]
    return " ".join(dict.fromkeys(w for w in words if w not in STOP_WORDS))


def load(directory: Path):
    """Items (index -> title, category, brand) and per-user full sequences."""
    asin_to_index = {}
    for line in (directory / "Scientific.item2index").read_text().splitlines():
        asin, index = line.split("\t")
        asin_to_index[asin] = int(index)
    items: dict[int, tuple[str, str, str]] = {}
    lines = (directory / "Scientific.text").read_text(encoding="utf-8").splitlines()[1:]
    for line in lines:
        asin, _, text = line.partition("\t")
        if asin in asin_to_index:
            items[asin_to_index[asin]] = parse_text(text)
    sequences: dict[int, list[int]] = {}
    for line in (directory / "Scientific.test.inter").read_text().splitlines()[1:]:
        user, history, target = line.split("\t")
        sequences[int(user)] = [int(i) for i in history.split()] + [int(target)]
    return items, sequences


def import_catalogue(items, popularity: dict[int, int]) -> dict[str, int]:
    """Products (sku = item index) with their categories and brands; returns sku -> pk."""
    from django.db import transaction

    from shop.models import Brand, Category, Product

    with transaction.atomic():
        categories = {}
        for path in sorted({c for _, c, _ in items.values() if c}):
            name = path[:200].rsplit(" ", 1)[0] if len(path) > 200 else path
            categories[path] = Category(name=name, slug=f"c{len(categories)}")
        Category.objects.bulk_create(categories.values(), batch_size=1000)
        for category in categories.values():
            category.path = category.name  # bulk_create skips save(): flat tree
        Category.objects.bulk_update(categories.values(), ["path"], batch_size=1000)
        brands = {}
        for name in sorted({b[:200] for _, _, b in items.values() if b}):
            brands[name.lower()] = brands.get(name.lower()) or Brand(
                name=name, slug=f"b{len(brands)}"
            )
        Brand.objects.bulk_create(brands.values(), batch_size=1000)
        products = [
            Product(
                sku=str(index),
                title=(title or category or brand or str(index))[:500],
                category=categories.get(category),
                brand=brands.get(brand[:200].lower()) if brand else None,
                stock=1,
                popularity=popularity.get(index, 0),
            )
            for index, (title, category, brand) in sorted(items.items())
        ]
        Product.objects.bulk_create(products, batch_size=2000)
    return dict(Product.objects.values_list("sku", "pk"))


class Bm25:
    def __init__(self, docs: dict[int, list[str]]):
        self.docs = {i: Counter(toks) for i, toks in docs.items()}
        self.lengths = {i: len(toks) for i, toks in docs.items()}
        self.avg = sum(self.lengths.values()) / max(len(self.lengths), 1)
        df = Counter(t for toks in docs.values() for t in set(toks))
        n = len(docs)
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}

    def score(self, query_terms: list[str], item: int) -> float:
        tf = self.docs.get(item, Counter())
        norm = K1 * (1 - B + B * self.lengths.get(item, 0) / self.avg)
        return sum(
            self.idf.get(t, 0.0) * tf[t] * (K1 + 1) / (tf[t] + norm) for t in query_terms if tf[t]
        )


def reciprocal_ranks(scores: np.ndarray) -> np.ndarray:
    """1 / (1-based rank) of each score among the column, best first (ties: first seen)."""
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    ranks = np.empty(len(order))
    ranks[order] = np.arange(1, len(order) + 1)
    return 1.0 / ranks


def rank_metrics(ranks: list[float]) -> dict[str, float]:
    """MRR, NDCG@10 and HR@10 of 1-based ranks (inf = not retrieved)."""
    r = np.asarray(ranks, dtype=float)
    if not len(r):
        return {"mrr": 0.0, "ndcg@10": 0.0, "hr@10": 0.0}
    return {
        "mrr": round(float(np.mean(np.where(np.isfinite(r), 1.0 / r, 0.0))), 4),
        "ndcg@10": round(float(np.mean(np.where(r <= 10, 1.0 / np.log2(r + 1), 0.0))), 4),
        "hr@10": round(float(np.mean(r <= 10)), 4),
    }


def _rank_of(order_scores: np.ndarray, target_row: int) -> float:
    """1-based rank of the target under descending scores (ties: pessimistic half)."""
    if target_row < 0:
        return math.inf
    s = order_scores[target_row]
    return 1.0 + float((order_scores > s).sum()) + 0.5 * float((order_scores == s).sum() - 1)


def run(
    data_dir: str,
    *,
    model_seconds: float,
    candidates: int,
    quick: bool,
    overrides: dict | None = None,
    log=print,
):
    from recommender.ml import (
        ItemTransitions,
        ModelConfig,
        TitleTfidf,
        Vocabulary,
        build_item_features,
        build_sequence_data,
        fit,
        leave_last_out,
    )
    from recommender.ml.ranking import fit_blend

    t0 = time.perf_counter()
    items, sequences = load(Path(data_dir))
    users = sorted(sequences)
    if quick:
        users = users[:2000]
    vocab = Vocabulary(sorted(items))
    flat_users = [u for u in users for _ in sequences[u]]
    flat_items = [i for u in users for i in sequences[u]]
    data = build_sequence_data(flat_users, flat_items, None, None, vocab)
    split = leave_last_out(data)
    counts = split.train.item_counts()
    popularity = {raw: int(counts[vocab.index[raw]]) for raw in items}
    log(f"{len(items)} items, {len(users)} users, {len(flat_items)} interactions")

    vendor = _django.setup("search_quality")
    from django.test.utils import override_settings

    from shop.personalization import get_personalizer
    from shop.search.params import MAX_PAGE_SIZE, SearchParams
    from shop.search.retrieval import RERANK_WINDOW
    from shop.search.service import search_products
    from shop.shoppers import Shopper

    candidates = candidates or RERANK_WINDOW

    sku_to_pk = import_catalogue(items, popularity)
    pk_to_item = {pk: int(sku) for sku, pk in sku_to_pk.items()}
    log(f"catalogue imported into {vendor} ({time.perf_counter() - t0:.0f}s)")

    retrieved: dict[str, tuple[list[int], np.ndarray]] = {}
    cache_path = os.environ.get("SEARCH_QUALITY_CANDIDATE_CACHE")  # development only
    if cache_path and Path(cache_path).exists():
        import pickle

        retrieved.update(pickle.loads(Path(cache_path).read_bytes()))

    def retrieve(query: str):
        if query not in retrieved:
            # The search box takes 500 characters; a longer path is cut at a word.
            typed = query if len(query) <= 500 else query[:500].rsplit(" ", 1)[0]
            hits = []
            for page in range(1, math.ceil(candidates / MAX_PAGE_SIZE) + 1):
                params = SearchParams.from_mapping(
                    {"q": typed, "page_size": str(MAX_PAGE_SIZE), "page": str(page)}
                )
                result = search_products(params=params, shopper=Shopper(personalize=False))
                hits += result.hits
                if result.page >= result.num_pages:
                    break
            hits = hits[:candidates]
            ids = [pk_to_item[h.product.pk] for h in hits]
            text = np.array([float(h.components.get("text", h.score)) for h in hits])
            retrieved[query] = (ids, text)
        return retrieved[query]

    tokens = {i: [w.lower() for w in _WORD.findall(" ".join(t))] for i, t in items.items()}
    bm25 = Bm25(tokens)
    brand_of = {i: b.lower() for i, (_, _, b) in items.items()}
    log_pop = {i: math.log1p(c) for i, c in popularity.items()}

    # Recommender signals: transitions from the history, the Transformer's affinity.
    trans_val = ItemTransitions(split.train, window=3, backward=0.3, decay=0.6)
    trans_test = ItemTransitions(split.test_inputs, window=3, backward=0.3, decay=0.6)
    # Bought by the same shoppers anywhere in their sequences (item-kNN co-occurrence).
    co_val = ItemTransitions(split.train, window=50, backward=1.0, decay=0.85, last=20)
    co_test = ItemTransitions(split.test_inputs, window=50, backward=1.0, decay=0.85, last=20)
    titles_raw = {i: f"{t[0]} {t[2]}" for i, t in items.items()}
    content_val = TitleTfidf(split.train, titles_raw, {}, decay=0.7, last=10)
    content_test = TitleTfidf(split.test_inputs, titles_raw, {}, decay=0.7, last=10)
    model = None
    model_info: dict = {"trained": False}
    if model_seconds > 0:
        try:
            cfg = ModelConfig().replace(
                **{**(overrides or {}), "max_train_seconds": float(model_seconds)}
            )
            titles = {i: t[0] for i, t in items.items()}
            attrs = {i: [f"c:{t[1]}", f"b:{t[2].lower()}"] for i, t in items.items()}
            features = build_item_features(
                vocab,
                titles,
                attrs,
                None,
                cfg.max_title_tokens,
                cfg.max_attributes,
                cfg.min_token_count,
            )
            model = fit(split, features, cfg)
            model_info = {
                "trained": True,
                "train_seconds": round(model.metrics.get("train_seconds", 0.0), 1),
                "best_val_ndcg@10": model.metrics.get("best_val_ndcg@10"),
                "device": model.metrics.get("device"),
            }
            log(f"transformer trained: {model_info}")
        except Exception as error:  # the benchmark still reports the other signals
            logging.exception("Transformer training failed")
            model_info = {"trained": False, "error": repr(error)[:300]}

    # Unit item vectors of the model by internal id, for the "similarity" signal (the
    # largest cosine to the shopper's latest products), as the live personalizer does.
    unit = None
    if model is not None:
        raw_ids, vectors = model.item_vectors()
        vectors = np.asarray(vectors, dtype=np.float32)
        unit = np.zeros((len(vocab), vectors.shape[1]), dtype=np.float32)
        for raw, vector in zip(raw_ids, vectors, strict=True):
            if raw in vocab.index:
                unit[vocab.index[raw]] = vector / max(float(np.linalg.norm(vector)), 1e-8)

    def build(stage: str):
        inputs = split.val_inputs if stage == "valid" else split.test_inputs
        targets = split.val_targets if stage == "valid" else split.test_targets
        trans = trans_val if stage == "valid" else trans_test
        co = co_val if stage == "valid" else co_test
        content = content_val if stage == "valid" else content_test
        rows = [r for r in split.users_eval]
        out = []
        chunk = 512
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            batch = inputs.batch(part, 50, 16)
            trans_scores = trans.score(batch)
            co_scores = co.score(batch)
            content_scores = content.score(batch)
            model_scores = np.asarray(model.score(batch)) if model is not None else None
            recent = np.asarray(batch.items)[:, -SIMILARITY_RECENT_ITEMS:]
            for k, r in enumerate(part):
                target = vocab.values[targets[r] - 2]
                query = query_for(items[target][1])
                if not query:
                    out.append(None)
                    continue
                ids, text = retrieve(query)
                if not ids:
                    out.append({"rows": None})
                    continue
                internal = np.array([vocab.index[i] for i in ids])
                bought = {vocab.values[h - 2] for h in inputs.items[r] if h >= 2}
                history = [vocab.values[h - 2] for h in inputs.items[r] if h >= 2][-20:]
                brands = Counter(brand_of.get(h, "") for h in history)
                terms = query.split()
                feats = np.column_stack(
                    [
                        [bm25.score(terms, i) for i in ids],
                        text,
                        [log_pop.get(i, 0.0) for i in ids],
                        np.log1p(np.maximum(trans_scores[k, internal], 0) * 100),
                        model_scores[k, internal]
                        if model_scores is not None
                        else np.zeros(len(ids)),
                        [brands.get(brand_of.get(i, ""), 0) / max(len(history), 1) for i in ids],
                        np.log1p(np.maximum(co_scores[k, internal], 0) * 100),
                        content_scores[k, internal],
                        (unit[internal] @ unit[recent[k][recent[k] >= 2]].T).max(axis=1)
                        if unit is not None and (recent[k] >= 2).any()
                        else np.zeros(len(ids)),
                        # Already bought: every history event of this data set is a
                        # purchase (a review), as the live "bought" signal reads them.
                        [1.0 if i in bought else 0.0 for i in ids],
                    ]
                )
                feats = np.column_stack(
                    [
                        feats,
                        *(reciprocal_ranks(feats[:, FEATURES.index(n)]) for n in RANKED_FEATURES),
                    ]
                )
                out.append(
                    {"features": feats, "target": ids.index(target) if target in ids else -1}
                )
        return out

    with override_settings(SHOP_PERSONALIZER="shop.personalization.DefaultPersonalizer"):
        get_personalizer.cache_clear()
        valid = build("valid")
        test = build("test")
    if cache_path:
        import pickle

        Path(cache_path).write_bytes(pickle.dumps(retrieved))
    log(f"features built: {len(retrieved)} distinct queries ({time.perf_counter() - t0:.0f}s)")

    def learn(names):
        cols = [FEATURES.index(n) for n in names]
        lists = [
            q["features"][:, cols]
            for q in valid
            if q and q.get("features") is not None and q["target"] >= 0
        ]
        targets = [
            q["target"] for q in valid if q and q.get("features") is not None and q["target"] >= 0
        ]
        return fit_blend(lists, targets, names), cols

    dump = os.environ.get("SEARCH_QUALITY_DUMP")  # development only
    if dump:
        import pickle

        Path(dump).write_bytes(pickle.dumps({"valid": valid, "test": test}))
    full, full_cols = learn(FEATURES)
    live, live_cols = learn(LIVE_FEATURES)
    log(f"blend learned on validation: {full.as_dict()}")
    log(f"live-feature blend: {live.as_dict()}")

    def evaluate(queries):
        ranks: dict[str, list[float]] = {
            "lexical": [],
            "bm25": [],
            "personalized": [],
            "personalized_live_features": [],
        }
        found = evaluated = 0
        for q in queries:
            if q is None:
                continue
            evaluated += 1
            if q.get("features") is None or q["target"] < 0:
                for key in ranks:
                    ranks[key].append(math.inf)
                continue
            found += 1
            f, t = q["features"], q["target"]
            n = len(f)
            ranks["lexical"].append(_rank_of(-np.arange(n, dtype=float), t))
            ranks["bm25"].append(_rank_of(f[:, 0] - 1e-9 * np.arange(n), t))
            ranks["personalized"].append(_rank_of(full.score(f[:, full_cols]), t))
            ranks["personalized_live_features"].append(_rank_of(live.score(f[:, live_cols]), t))
        report = {k: rank_metrics(v) for k, v in ranks.items()}
        report["queries"] = evaluated
        report["candidate_recall"] = round(found / max(evaluated, 1), 4)
        return report

    test_report = evaluate(test)
    valid_report = evaluate(valid)
    best_baseline = max(test_report["lexical"]["mrr"], test_report["bm25"]["mrr"])
    report = {
        "dataset": Path(data_dir).name,
        "database": vendor,
        "lexical": test_report["lexical"],
        "bm25": test_report["bm25"],
        "personalized": test_report["personalized"],
        "personalized_live_features": test_report["personalized_live_features"],
        "queries": test_report["queries"],
        "candidate_recall": test_report["candidate_recall"],
        "mrr_lift_vs_best_baseline": round(
            test_report["personalized"]["mrr"] / max(best_baseline, 1e-9), 3
        ),
        "candidates": candidates,
        "distinct_queries": len(retrieved),
        "skipped_empty_queries": sum(1 for q in test if q is None),
        "weights": full.as_dict(),
        "live_weights": live.as_dict(),
        "validation": valid_report,
        "transformer": model_info,
        "quick": quick,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True)
    parser.add_argument("--json", required=True)
    parser.add_argument(
        "--model-seconds", type=float, default=120.0, help="Transformer training budget (0 = skip)"
    )
    parser.add_argument(
        "--candidates", type=int, default=None, help="default: the search's RERANK_WINDOW (300)"
    )
    parser.add_argument("--quick", action="store_true", help="2,000 users only")
    add_set_option(parser)
    args = parser.parse_args(argv)
    overrides = config_overrides(args.set)
    logging.basicConfig(level=logging.WARNING)
    report = run(
        args.data,
        model_seconds=args.model_seconds,
        candidates=args.candidates,
        quick=args.quick,
        overrides=overrides,
        log=lambda s: print(s, flush=True),
    )
    report["command"] = command_line("bench.search_quality", argv)
    for key in ("lexical", "bm25", "personalized", "personalized_live_features"):
        m = report[key]
        print(f"{key:28s} MRR {m['mrr']:.4f}  NDCG@10 {m['ndcg@10']:.4f}  HR@10 {m['hr@10']:.4f}")
    print(
        f"queries {report['queries']}, candidate recall {report['candidate_recall']}, "
        f"personalized MRR / best baseline = {report['mrr_lift_vs_best_baseline']}"
    )
    report_write(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
