"""Item side features: title tokens, attributes and price buckets."""

from recommender.ml import Vocabulary, build_item_features, tokenize


def test_item_features_handle_missing_titles_and_new_items():
    v = Vocabulary([1, 2, 3])
    f = build_item_features(
        v, {1: "Red Nail Polish", 2: "red lipstick", 3: ""}, {1: ["b1"], 3: ["b1", "c2"]}, {2: 3}
    )
    assert f.tokens.shape == (5, 16)
    assert f.tokens[4].sum() == 0  # item 3 has no title
    assert "red" in f.token_vocab and "nail" not in f.token_vocab  # min count 2
    assert f.prices.tolist() == [0, 0, 0, 3, 0] and f.n_price_buckets == 4
    toks, attrs, price = f.encode_item("RED thing", ["c2", "unknown"], 2)
    assert toks[0] == f.token_vocab.index["red"] and toks[1:].sum() == 0
    assert attrs[0] == f.attribute_vocab.index["c2"] and attrs[1:].sum() == 0
    assert price == 2
    assert tokenize("OPI Nail-Lacquer, 0.5 oz OPI") == ["opi", "nail", "lacquer", "0", "5", "oz"]


def test_titles_longer_than_the_width_keep_their_first_tokens():
    vocab = Vocabulary(["a", "b"])
    titles = {"a": "one two three four", "b": "one two three four"}
    features = build_item_features(vocab, titles, max_title_tokens=2, min_token_count=1)
    first_two = [features.token_vocab.index[t] for t in ("one", "two")]
    assert features.tokens[2].tolist() == features.tokens[3].tolist() == first_two
