"""The listwise blend: fitting recovers known weights; standardisation per list."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.ml.ranking import BlendModel, expand, fit_blend, standardize


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


def test_interaction_terms_learn_what_a_sum_of_features_cannot():
    # Shoppers click what is relevant AND close to their taste: the product a*b.
    rng = np.random.default_rng(1)
    lists, targets = [], []
    for _ in range(1500):
        x = rng.normal(size=(10, 2))
        z = standardize(x)
        logits = 2.0 * z[:, 0] * z[:, 1]
        p = np.exp(logits - logits.max())
        targets.append(int(rng.choice(10, p=p / p.sum())))
        lists.append(x)
    plain = fit_blend(lists, targets, ["a", "b"])
    crossed = fit_blend(lists, targets, ["a", "b"], interacting=("a", "b"))
    assert crossed.terms == ("a", "b", "a*b", "a^2", "b^2")
    assert crossed.as_dict()["a*b"] == pytest.approx(2.0, abs=0.3)
    assert crossed.info["loss"] < plain.info["loss"] - 0.1


def test_each_features_share_of_the_score_adds_up_to_the_score():
    model = BlendModel.from_dict(
        {"a": 1.0, "b": -0.5, "c": 0.3, "a*b": 0.7, "a^2": -0.2}, ["a", "b", "c"], ("a", "b")
    )
    x = np.random.default_rng(2).normal(size=(6, 3))
    shares = model.contributions(x)
    np.testing.assert_allclose(shares.sum(axis=1), model.score(x))
    z = standardize(x)
    # "a" gets its own term, its square and half of a*b.
    np.testing.assert_allclose(
        shares[:, 0], z[:, 0] - 0.2 * z[:, 0] ** 2 + 0.35 * z[:, 0] * z[:, 1]
    )


def test_a_blend_stored_before_a_feature_existed_weighs_it_zero():
    model = BlendModel.from_dict({"a": 1.0}, ["a", "b"], ("a", "b"))
    assert model.as_dict() == {"a": 1.0, "b": 0.0, "a*b": 0.0, "a^2": 0.0, "b^2": 0.0}
    assert expand(np.ones((2, 2)), ["a", "b"], ()).shape == (2, 2)
