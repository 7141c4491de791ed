"""Personalized product search quality on amazon_scientific (protocol: HEM, Ai et al. 2017),
measured on the path the storefront runs.

    python -m bench.search_quality --data ../shared/datasets/amazon_scientific --json OUT
        [--model-seconds 300] [--quick] [--set key=value ...]

For each (user, target) pair the query is the target's category path (its words,
lower-cased, de-duplicated, stop words removed). The benchmark builds a shop in its own
database (bench/_django.py: DATABASE_URL's server, or SQLite): the catalogue (title,
category, brand), one account per user and each user's purchases before the
validation target as purchase events. The recommender's model is trained by the
product's training function (recommender.ml.train_served: transformer, item transitions,
their ensemble and that ensemble with the content similarity, the best on validation
served) on the same leave-last-out split,
with item features exported from the shop (recommender.training.export), registered
and activated as a model version, and every shopper's state is computed by the
product's refresh.

Every ordering is the storefront's own: the shop's search (shop.search.matches.matches_for)
retrieves the re-rank window for the query, and shop.search.ranking.personalized_page
(the function the search page calls) orders it for

- *lexical*: a shopper who opted out of personalization (text relevance);
- *personalized*: the shopper, through the configured personalizer
  (recommender.personalizer.RecommenderPersonalizer) and the blend weights the shop
  serves. The weights are learned the way the shop learns them from clicks
  (recommender.ml.ranking.fit_blend over the features the personalizer logs with each
  search), here on the validation targets' searches, and stored as the shop's
  SearchBlend; then the validation targets are recorded as purchases, the refresh
  runs again, and the test targets' searches are measured.

*BM25* (k1 1.2, b 0.75 on the product text, over the same candidates) is the second
baseline. ``variants`` are re-scorings of the test searches' logged features, for
comparison only (the offline default weights, the blend without interaction terms,
each feature left out). A target the retrieval misses counts as rank infinity
(reciprocal rank 0) for every ordering.

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
from datetime import UTC, datetime, timedelta
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
K1, B = 1.2, 0.75
# When the shop's history starts (one purchase a day per shopper from here).
EPOCH = datetime(2018, 1, 1, tzinfo=UTC)
ORDERINGS = ("lexical", "bm25", "personalized")


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


def import_shoppers(users: list[int]) -> dict[int, int]:
    """One account per dataset user; returns dataset user -> user pk."""
    from django.contrib.auth import get_user_model

    User = get_user_model()
    User.objects.bulk_create([User(username=f"u{u}", password="!") for u in users], batch_size=5000)
    pks = dict(User.objects.values_list("username", "pk"))
    return {u: pks[f"u{u}"] for u in users}


def record_purchases(purchases: list[tuple[int, int, int]], tag: str) -> None:
    """(user pk, product pk, day) purchases as the shop's events, one day apart."""
    now = datetime.now(UTC)
    rows = [
        _django.view_row(user, product, f"{tag}-{n}", EPOCH + timedelta(days=day), now, "purchase")
        for n, (user, product, day) in enumerate(purchases)
    ]
    _django.insert_event_rows(rows)


def refresh_every_shopper() -> int:
    """The product's refresh of every shopper's top-K and state with the active model."""
    from recommender.serving.model import active_model
    from recommender.serving.refresh import (
        REFRESH_CHUNK_USERS,
        user_id_ranges,
        user_recommendations_refresh_range,
    )

    version = active_model().version_id
    return sum(
        user_recommendations_refresh_range(version_id=version, first_user_id=low, last_user_id=high)
        for low, high in user_id_ranges(REFRESH_CHUNK_USERS)
    )


def train_and_activate(split, config, log) -> dict:
    """Train with the product's training function on the split, register and activate
    the served model as a version (the product's activation), refresh every shopper."""
    from django.conf import settings

    from recommender.ml import build_item_features, train_served
    from recommender.models import ModelVersion
    from recommender.training.export import catalogue_export
    from recommender.training.versions import model_version_activate

    catalogue = catalogue_export()
    features = build_item_features(
        split.train.item_vocab,
        catalogue.titles,
        catalogue.attributes,
        catalogue.price_buckets,
        config.max_title_tokens,
        config.max_attributes,
        config.min_token_count,
    )
    selection = train_served(split, features, config, log=log)
    served = selection.served
    path = Path(settings.MODEL_ROOT) / f"bench-search-quality-{int(time.time())}"
    served.save(path)
    version = ModelVersion.objects.create(artifact_path=str(path), config=config.to_dict())
    model_version_activate(version=version)
    info = {
        "served": served.name,
        "kind": served.kind,
        "weights": list(served.weights),
        "validation": served.validation,
        "train_seconds": round(float(served.metrics.get("train_seconds", 0.0)), 1),
        "best_val_ndcg@10": served.metrics.get("best_val_ndcg@10"),
        "device": served.metrics.get("device"),
    }
    log(f"model trained and activated: {info}")
    log(f"refreshed {refresh_every_shopper()} shoppers")
    return info


class LiveSearch:
    """The storefront's search orderings of a query's re-rank window for a shopper."""

    def __init__(self, pk_to_item: dict[int, int], bm25: Bm25) -> None:
        from shop.search.cache import search_generation
        from shop.search.matches import matches_for
        from shop.search.params import SearchParams
        from shop.search.ranking import personalized_page
        from shop.shoppers import Shopper

        self.pk_to_item, self.bm25 = pk_to_item, bm25
        self._matches_for, self._generation = matches_for, search_generation
        self._params, self._page, self._shopper = SearchParams, personalized_page, Shopper
        self._lexical: dict[str, tuple] = {}

    def window(self, query: str):
        """(params, matches) of the query as the search box sends it (500 characters)."""
        typed = query if len(query) <= 500 else query[:500].rsplit(" ", 1)[0]
        params = self._params.from_mapping({"q": typed})
        return params, self._matches_for(params, self._generation())

    def lexical(self, query: str) -> tuple[list[int], np.ndarray]:
        """(dataset items in the order of a shopper without personalization, BM25 scores)."""
        if query not in self._lexical:
            params, found = self.window(query)
            page = self._page(
                found, params, self._shopper(personalize=False), start=0, end=len(found.window)
            )
            items = [self.pk_to_item[i.product_id] for i in page]
            terms = query.split()
            self._lexical[query] = (items, np.array([self.bm25.score(terms, i) for i in items]))
        return self._lexical[query]

    def personalized(self, query: str, user_pk: int, names) -> tuple[list[int], np.ndarray | None]:
        """(dataset items in the shopper's personalized order, the logged raw features
        of each, None when the personalizer had nothing personal to say)."""
        params, found = self.window(query)
        shopper = self._shopper(user_id=user_pk)
        page = self._page(found, params, shopper, start=0, end=len(found.window))
        items = [self.pk_to_item[i.product_id] for i in page]
        if not page or f"x_{names[0]}" not in page[0].components:
            return items, None
        return items, np.array([[i.components[f"x_{n}"] for n in names] for i in page])


def search_pass(live: LiveSearch, shop: BenchShop, targets: np.ndarray, names) -> list:
    """Every evaluated user's query (for their target) through the live orderings."""
    out = []
    for r in shop.split.users_eval:
        target = shop.item_of(targets[r])
        query = query_for(shop.items[target][1])
        if not query:
            out.append(None)
            continue
        lexical, bm25 = live.lexical(query)
        ranked, features = live.personalized(query, shop.user_pk(r), names)
        out.append(
            {
                "lexical": lexical.index(target) + 1 if target in lexical else math.inf,
                "bm25": _rank_of(bm25 - 1e-9 * np.arange(len(bm25)), lexical.index(target))
                if target in lexical
                else math.inf,
                "personalized": ranked.index(target) + 1 if target in ranked else math.inf,
                "features": features,
                "target_row": ranked.index(target) if target in ranked else -1,
            }
        )
    return out


def report_of(queries: list) -> dict:
    """MRR, NDCG@10 and HR@10 of each ordering over the queries."""
    kept = [q for q in queries if q is not None]
    report = {name: rank_metrics([q[name] for q in kept]) for name in ORDERINGS}
    report["queries"] = len(kept)
    report["candidate_recall"] = round(
        sum(1 for q in kept if math.isfinite(q["lexical"])) / max(len(kept), 1), 4
    )
    return report


def learn_blend(queries: list, names, interacting):
    """The blend fitted on the validation searches' logged features (as the shop fits
    it on clicked searches), stored as the shop's SearchBlend."""
    from recommender.ml.ranking import fit_blend
    from recommender.models import SearchBlend
    from recommender.search_blend import search_blend_forget

    usable = [q for q in queries if q and q["features"] is not None and q["target_row"] >= 0]
    blend = fit_blend(
        [q["features"] for q in usable],
        [q["target_row"] for q in usable],
        names,
        interacting=interacting,
    )
    SearchBlend.objects.create(
        weights=blend.as_dict(),
        source=SearchBlend.Source.OFFLINE,
        searches=len(usable),
        metrics=blend.info,
    )
    search_blend_forget()
    return blend


def variants(queries: list, valid: list, names, interacting) -> dict:
    """Re-scorings of the test searches' logged features (comparison only): the offline
    default weights, the blend without interaction terms, each feature left out."""
    from recommender.ml.ranking import DEFAULT_WEIGHTS, BlendModel

    def mrr_of(blend, columns) -> dict:
        ranks = []
        for q in queries:
            if q is None:
                continue
            if q["features"] is None or q["target_row"] < 0:
                ranks.append(q["personalized"])
                continue
            scores = blend.score(q["features"][:, columns])
            ranks.append(_rank_of(scores, q["target_row"]))
        return rank_metrics(ranks)

    everything = list(range(len(names)))
    out = {
        "default_weights": mrr_of(
            BlendModel.from_dict(DEFAULT_WEIGHTS, names, interacting), everything
        )
    }
    out["no_interactions"] = mrr_of(refit(valid, names, everything, ()), everything)
    for left_out in names:
        columns = [k for k, n in enumerate(names) if n != left_out]
        kept = [names[k] for k in columns]
        out[f"without_{left_out}"] = mrr_of(refit(valid, kept, columns, interacting), columns)
    return out


def refit(valid: list, names, columns, interacting):
    from recommender.ml.ranking import fit_blend

    usable = [q for q in valid if q and q["features"] is not None and q["target_row"] >= 0]
    return fit_blend(
        [q["features"][:, columns] for q in usable],
        [q["target_row"] for q in usable],
        list(names),
        interacting=interacting,
    )


class BenchShop:
    """The dataset as the benchmark's shop holds it: products, accounts, the split over
    product pks, and each purchase's day."""

    def __init__(self, items, sequences, users: list[int]) -> None:
        from recommender.ml import Vocabulary, build_sequence_data, leave_last_out
        from recommender.training.export import catalogue_export

        self.items = items
        counts = Counter(i for u in users for i in sequences[u][:-2])
        sku_to_pk = import_catalogue(items, counts)
        self.pk_to_item = {pk: int(sku) for sku, pk in sku_to_pk.items()}
        self.catalogue = catalogue_export()
        vocab = Vocabulary(self.catalogue.product_ids)
        self.account = import_shoppers(users)
        flat_users = [self.account[u] for u in users for _ in sequences[u]]
        flat_items = [sku_to_pk[str(i)] for u in users for i in sequences[u]]
        self.split = leave_last_out(build_sequence_data(flat_users, flat_items, None, None, vocab))
        self.vocab = vocab

    def item_of(self, internal: int) -> int:
        """The dataset item of an internal id of the split."""
        return self.pk_to_item[self.vocab.values[internal - 2]]

    def user_pk(self, row: int) -> int:
        return self.split.train.users[row]

    def purchases(self, stage: str) -> list[tuple[int, int, int]]:
        """(user pk, product pk, day) of the training purchases, or of the validation targets."""
        out = []
        evaluated = {int(r) for r in self.split.users_eval}
        for r, user in enumerate(self.split.train.users):
            history = self.split.train.items[r]
            if stage == "train":
                out += [(user, self.vocab.values[i - 2], day) for day, i in enumerate(history)]
            elif r in evaluated and self.split.val_targets[r] >= 2:
                out.append((user, self.vocab.values[self.split.val_targets[r] - 2], len(history)))
        return out


def run(data_dir: str, *, model_seconds: float, quick: bool, overrides=None, log=print) -> dict:
    t0 = time.perf_counter()
    items, sequences = load(Path(data_dir))
    users = sorted(sequences)[: 2000 if quick else None]
    vendor = _django.setup("search_quality")
    from recommender.ml import ModelConfig
    from recommender.ml.ranking import INTERACTING, LIVE_FEATURES

    shop = BenchShop(items, sequences, users)
    log(
        f"{len(items)} items, {len(users)} users; shop built in {vendor} ({time.perf_counter() - t0:.0f}s)"
    )
    record_purchases(shop.purchases("train"), "train")
    config = ModelConfig().replace(
        **{**(overrides or {}), "max_train_seconds": float(model_seconds)}
    )
    if quick:
        config = config.replace(max_epochs=min(config.max_epochs, 3))
    model = train_and_activate(shop.split, config, log)
    tokens = {i: [w.lower() for w in _WORD.findall(" ".join(t))] for i, t in items.items()}
    live = LiveSearch(shop.pk_to_item, Bm25(tokens))
    valid = search_pass(live, shop, shop.split.val_targets, LIVE_FEATURES)
    blend = learn_blend(valid, LIVE_FEATURES, INTERACTING)
    log(f"validation searches: {report_of(valid)}; blend learned: {blend.as_dict()}")
    record_purchases(shop.purchases("valid"), "valid")
    log(f"validation targets recorded; refreshed {refresh_every_shopper()} shoppers")
    test = search_pass(live, shop, shop.split.test_targets, LIVE_FEATURES)
    report = report_of(test)
    best_baseline = max(report["lexical"]["mrr"], report["bm25"]["mrr"])
    report.update(
        {
            "dataset": Path(data_dir).name,
            "database": vendor,
            "mrr_lift_vs_best_baseline": round(
                report["personalized"]["mrr"] / max(best_baseline, 1e-9), 3
            ),
            "features": list(LIVE_FEATURES),
            "weights": blend.as_dict(),
            "variants": variants(test, valid, LIVE_FEATURES, INTERACTING),
            "validation": report_of(valid),
            "skipped_empty_queries": sum(1 for q in test if q is None),
            "distinct_queries": len(live._lexical),
            "model": model,
            "quick": quick,
            "seconds": round(time.perf_counter() - t0, 1),
        }
    )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True)
    parser.add_argument("--json", required=True)
    parser.add_argument(
        "--model-seconds", type=float, default=300.0, help="the transformer's training budget"
    )
    parser.add_argument("--quick", action="store_true", help="2,000 users, 3 epochs")
    add_set_option(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    report = run(
        args.data,
        model_seconds=args.model_seconds,
        quick=args.quick,
        overrides=config_overrides(args.set),
        log=lambda s: print(s, flush=True),
    )
    report["command"] = command_line("bench.search_quality", argv)
    for key in ORDERINGS:
        m = report[key]
        print(f"{key:14s} MRR {m['mrr']:.4f}  NDCG@10 {m['ndcg@10']:.4f}  HR@10 {m['hr@10']:.4f}")
    for key, m in report["variants"].items():
        print(f"  variant {key:24s} MRR {m['mrr']:.4f}")
    print(
        f"queries {report['queries']}, candidate recall {report['candidate_recall']}, "
        f"personalized (live) MRR / best baseline = {report['mrr_lift_vs_best_baseline']}"
    )
    report_write(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
