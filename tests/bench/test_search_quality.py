"""bench.search_quality's protocol pieces: the queries, the product text, the metrics."""

import math

import numpy as np
import pytest

from bench.search_quality import parse_text, query_for, rank_metrics, report_of, variants


def test_the_query_is_the_category_paths_words_without_stop_words_or_repeats():
    assert query_for("Industrial & Scientific > Lab & Scientific Products > Lab Tapes") == (
        "industrial scientific lab products tapes"
    )
    assert query_for("") == ""


def test_the_product_text_splits_into_title_category_and_brand():
    assert parse_text("Blue tape 2in. Industrial > Tapes. 3M.") == (
        "Blue tape 2in",
        "Industrial > Tapes",
        "3M",
    )


def test_a_missed_target_counts_as_reciprocal_rank_zero():
    metrics = rank_metrics([1.0, 2.0, math.inf, 11.0])
    assert metrics["mrr"] == pytest.approx((1 + 0.5 + 0 + 1 / 11) / 4, abs=1e-4)
    assert metrics["hr@10"] == 0.5


def _query(lexical, personalized, features=None, target_row=-1):
    return {
        "lexical": lexical,
        "bm25": lexical,
        "personalized": personalized,
        "features": features,
        "target_row": target_row,
    }


def test_the_report_covers_every_ordering_and_the_candidate_recall():
    report = report_of([_query(2.0, 1.0), _query(math.inf, math.inf), None])
    assert report["queries"] == 2
    assert report["candidate_recall"] == 0.5
    assert report["personalized"]["mrr"] == 0.5 and report["lexical"]["mrr"] == 0.25


def test_variants_rescore_the_logged_features_of_the_same_searches():
    rng = np.random.default_rng(0)
    names = ("text", "affinity")
    queries = []
    for _ in range(60):
        x = rng.normal(size=(8, 2))
        target = int(np.argmax(x[:, 1]))  # the shopper follows their affinity
        queries.append(_query(3.0, 1.0, x, target))
    out = variants(queries, queries, names, ())
    assert set(out) == {"default_weights", "no_interactions", "without_text", "without_affinity"}
    assert out["without_text"]["mrr"] > 0.9  # affinity alone finds every target
    assert out["without_affinity"]["mrr"] < out["without_text"]["mrr"]
