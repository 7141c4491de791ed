"""train_from_database: the run serves the best candidate on validation, and says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recommender.ml import ServedModel
from recommender.models import TrainingRun
from recommender.serving.model import load_artifact
from recommender.training.pipeline import train_from_database
from recommender.training.versions import model_version_register
from tests.recommender.conftest import TINY_MODEL

pytestmark = pytest.mark.django_db


def test_the_run_registers_the_candidate_best_on_validation(shop_data):
    timings: dict = {}
    result = train_from_database(parameters=TINY_MODEL, log=lambda line: None, timings=timings)
    candidates = result.metrics["candidates"]
    # The products have titles: the fourth candidate weighs their content similarity.
    with_content = [name for name in candidates if name.endswith("+title_tfidf")]
    assert len(with_content) == 1 and candidates[with_content[0]]["kind"] == "ensemble"
    assert candidates[with_content[0]]["params"]["content_weight"] > 0
    assert set(candidates) - set(with_content) == {
        "sasrec_fused",
        "item_transitions",
        "sasrec_fused+item_transitions",
    }
    assert {c["kind"] for c in candidates.values()} == {"transformer", "transitions", "ensemble"}
    best = max(candidates, key=lambda name: candidates[name]["validation_ndcg@10"])
    assert [name for name, c in candidates.items() if c["served"]] == [best]
    assert isinstance(result.model, ServedModel) and result.model.name == best
    # "model" keeps the served candidate's test row, under the keys it always had.
    served_row = result.metrics["model"]
    assert served_row["name"] == best and served_row["kind"] == candidates[best]["kind"]
    for key in ("hr@10", "ndcg@10", "mrr", "segments", "no_exclusion"):
        assert served_row[key] == candidates[best][key]
    assert set(result.metrics["baselines"]) == {"popularity", "item_transitions"}
    assert {"best_epoch", "train_seconds"} <= set(result.metrics["training"])
    assert {"train", "tune_transitions", "train_transformer", "select"} <= set(timings)

    run = TrainingRun.objects.create()
    version = model_version_register(run=run, result=result)
    assert version.holdout_ndcg == served_row["ndcg@10"]
    saved = json.loads((Path(version.artifact_path) / "served.json").read_text())
    assert saved["kind"] == result.model.kind and saved["candidates"][best]["served"]
    loaded = load_artifact(version.artifact_path)
    assert loaded.kind == result.model.kind and loaded.weights == result.model.weights
    # Whatever is served, shoppers get the transformer's vectors (search reads them).
    vectors = loaded.user_vectors([[shop_data[0].events.first().product_id]])
    assert vectors.shape == (1, TINY_MODEL["dim"])
