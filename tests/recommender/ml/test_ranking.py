"""The listwise blend: fitting recovers known weights; standardisation per list."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.ml.ranking import BlendModel, fit_blend, standardize


def synthetic_lists(weights, n_lists=400, size=10, seed=0):
    rng = np.random.default_rng(seed)
    lists, targets = [], []
    for _ in range(n_lists):
        x = rng.normal(size=(size, len(weights)))
        logits = standardize(x) @ np.asarray(weights)
        p = np.exp(logits - logits.max())
        targets.append(int(rng.choice(size, p=p / p.sum())))
        lists.append(x)
    return lists, targets


def test_fit_blend_recovers_the_weights_that_generated_the_clicks():
    true = [2.0, 0.0, -1.0, 0.5]
    lists, targets = synthetic_lists(true, n_lists=2000)
    model = fit_blend(lists, targets, ["a", "b", "c", "d"], l2=1e-4)
    assert np.allclose(model.weights, true, atol=0.25)
    assert model.info["queries"] == 2000


def test_fit_blend_needs_a_list_with_two_candidates():
    with pytest.raises(ValueError):
        fit_blend([np.ones((1, 2))], [0], ["a", "b"])


def test_a_feature_constant_within_a_list_adds_nothing():
    model = BlendModel(("a", "b"), np.array([1.0, 5.0]))
    scores = model.score(np.array([[1.0, 3.0], [2.0, 3.0], [0.0, 3.0]]))
    assert list(np.argsort(-scores)) == [1, 0, 2]
