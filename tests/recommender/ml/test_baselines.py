import numpy as np
import pytest

from recommender.ml import (
    ItemTransitions,
    Popularity,
    RecentPopularity,
    TitleTfidf,
    baselines,
    build_sequence_data,
    evaluate,
    leave_last_out,
)


def _data():
    users = ["u1"] * 4 + ["u2"] * 4 + ["u3"] * 3
    items = ["a", "b", "c", "a", "a", "b", "d", "e", "c", "d", "a"]
    times = [0, 1, 2, 3, 0, 1, 2, 3, 5, 6, 7]
    return build_sequence_data(users, items, [t * 86400 for t in times])


def test_popularity_and_top_k_masks():
    d = _data()
    pop = Popularity(d)
    items, scores, reasons = pop.top_k([["b"]], k=3)
    assert items[0] == ["a", "c", "d"]  # a is most frequent; b is in the history
    assert reasons[0] == [None, None, None]
    items, _, _ = pop.top_k([["b"]], k=3, exclude_items=["c"], exclude_per_user=[["d"]])
    assert items[0] == ["a", "e"]
    items, _, _ = pop.top_k([["b"]], k=2, exclude_history=False)
    assert items[0] == ["a", "b"]
    # Unknown history ids are fine (OOV).
    items, _, _ = pop.top_k([["never-seen"]], k=1)
    assert items[0] == ["a"]


def test_recent_popularity_prefers_recent_items():
    users = ["u"] * 3 + ["v"] * 3
    items = ["old", "old", "old", "new", "new", "x"]
    times = [0, 0, 0, 999, 999, 0]
    d = build_sequence_data(users, items, [t * 86400 for t in times])
    rp = RecentPopularity(d, half_life_days=10)
    assert rp.top_k([[]], k=1)[0][0] == ["new"]
    assert Popularity(d).top_k([[]], k=1)[0][0] == ["old"]


def test_transitions_learn_next_item_and_give_reasons():
    d = _data()
    tr = ItemTransitions(d, window=1, backward=0.0, decay=0.5)
    items, _, reasons = tr.top_k([["e", "a"]], k=1)
    assert items[0] == ["b"]  # a -> b twice
    assert reasons[0] == ["a"]


def test_title_tfidf_matches_titles_and_works_for_items_without_events():
    d = _data()
    d.item_vocab.add("f")  # in the catalogue, never interacted with
    titles = {
        "a": "red lipstick",
        "b": "blue mascara",
        "c": "green shampoo",
        "d": "red nail polish",
        "e": "blue eyeliner",
        "f": "red lipstick matte",
    }
    tf = TitleTfidf(d, titles, {})
    items, _, reasons = tf.top_k([["c", "a"]], k=2)
    assert items[0][0] == "f"
    assert reasons[0][0] == "a"


def test_title_tfidf_scores_are_the_decayed_cosines_to_the_last_items(monkeypatch):
    d = _data()
    titles = {"a": "red lipstick", "b": "red mascara", "c": "green shampoo", "d": "red polish"}
    tf = TitleTfidf(d, titles, {"e": ["brand1"], "a": ["brand1"]}, decay=0.5, last=2)
    batch = d.batch(np.arange(len(d)), 50, 16)
    cosine = (tf.x @ tf.x.T).toarray()
    expected = np.zeros((len(d), tf.n_items))
    for user, history in enumerate(d.items):
        for age, item in enumerate(history[::-1][:2]):
            expected[user] += 0.5**age * cosine[item]
    np.testing.assert_allclose(tf.score(batch), expected + tf._tiebreak, rtol=1e-6, atol=1e-7)
    # Users in groups (a catalogue with many terms): the same scores.
    whole = tf.score(batch)
    monkeypatch.setattr(baselines, "PROFILE_VALUES", 1)
    np.testing.assert_array_equal(tf.score(batch), whole)
    rebuilt = TitleTfidf.from_rows(tf.x, tf.counts, d.item_vocab, d.event_vocab, tf.params)
    np.testing.assert_array_equal(rebuilt.score(batch), whole)
    assert tf.score(d.batch([], 50, 16)).shape == (0, tf.n_items)


def test_baselines_share_the_evaluator():
    split = leave_last_out(_data())
    for model in (
        Popularity(split.train),
        ItemTransitions(split.train),
        TitleTfidf(split.train, {}, {}),
    ):
        out = evaluate(model, split.test_inputs, split.test_targets, split.users_eval, ks=(1, 2))
        assert 0.0 <= out["history_excluded"]["hr@2"] <= 1.0
        assert out["history_excluded"]["users"] == 3
    assert np.isfinite(Popularity(split.train).score(split.train.batch([0], 5, 8))).all()


def test_transitions_rebuilt_from_their_matrix_score_identically():
    split = leave_last_out(_data())
    fitted = ItemTransitions(split.train, window=2, backward=0.5, decay=0.4, last=3)
    rebuilt = ItemTransitions.from_matrix(
        fitted.matrix,
        fitted.counts,
        split.train.item_vocab,
        split.train.event_vocab,
        fitted.params,
    )
    assert rebuilt.params == fitted.params and (rebuilt.decay, rebuilt.last) == (0.4, 3)
    batch = split.test_inputs.batch([0, 1, 2], 5, 8)
    np.testing.assert_array_equal(rebuilt.score(batch), fitted.score(batch))
    assert rebuilt.top_k([["a"]], k=2)[0] == fitted.top_k([["a"]], k=2)[0]
    with pytest.raises(ValueError, match="do not fit"):
        ItemTransitions.from_matrix(
            fitted.matrix[:3, :3], fitted.counts, split.train.item_vocab, split.train.event_vocab
        )


def test_transition_neighbours_are_the_items_before_and_after():
    d = _data()
    tr = ItemTransitions(d, window=1, backward=0.0)
    scores = tr.neighbour_scores(d.item_vocab.index["b"])
    ranked = d.item_vocab.decode(np.argsort(-scores, kind="stable")[:3])
    # a precedes b twice; c and d follow b once each; e never meets b.
    assert ranked[0] == "a" and set(ranked) == {"a", "c", "d"}
