"""Negative sampling: never padding or OOV, skewed to popular items, seeded."""

import numpy as np

from recommender.ml.sampling import NegativeSampler


def test_uniform_draws_cover_real_items_only_and_need_no_correction():
    sampler = NegativeSampler(np.array([0, 0, 5, 1, 0]), n_negatives=500, alpha=0.0, seed=3)
    drawn = sampler.draw().numpy()
    assert sampler.log_q is None
    assert set(drawn) == {2, 3, 4}


def test_popular_items_are_drawn_more_often_with_their_log_q():
    counts = np.array([0, 0, 1000, 0, 0])
    sampler = NegativeSampler(counts, n_negatives=2000, alpha=1.0, seed=3)
    drawn = sampler.draw().numpy()
    assert drawn.min() >= 2
    assert (drawn == 2).mean() > 0.9
    q = np.array([0, 0, 1001, 1, 1]) / 1003
    np.testing.assert_allclose(sampler.log_q.numpy()[2:], np.log(q[2:] * 2000), rtol=1e-5)


def test_the_same_seed_draws_the_same_negatives():
    counts = np.arange(20)
    first = NegativeSampler(counts, 64, 0.75, seed=9)
    second = NegativeSampler(counts, 64, 0.75, seed=9)
    for _ in range(3):
        np.testing.assert_array_equal(first.draw().numpy(), second.draw().numpy())
