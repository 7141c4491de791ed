"""The Keras model: named layers built in __init__, the config saved with it."""

import numpy as np
import tensorflow as tf

from recommender.ml.model import SequentialRecommender, build_sequential_recommender

SIZES = {
    "n_items": 12,
    "n_tokens": 5,
    "n_attributes": 4,
    "n_prices": 3,
    "n_events": 3,
    "title_tokens": 4,
    "attributes": 2,
}


def test_the_keras_config_round_trips_to_the_same_frozen_config(tiny_config):
    model = build_sequential_recommender(tiny_config, SIZES)
    again = SequentialRecommender.from_config(model.get_config())
    assert again.model_config == tiny_config
    assert again.sizes == model.sizes and again.name == model.name


def test_layers_are_named_per_block_and_users_get_one_vector(tiny_config):
    config = tiny_config.replace(n_blocks=2)
    model = build_sequential_recommender(config, SIZES)
    assert [layer.name for layer in model.attentions] == ["block0_attention", "block1_attention"]
    assert model.tower.name == "item_tower" and model.final_norm.name == "final_norm"
    items = tf.constant([[0, 3, 4], [5, 6, 7]], tf.int32)
    users = model((items, tf.ones_like(items), tf.ones_like(items)), training=False)
    assert users.shape == (2, config.dim) and np.isfinite(users.numpy()).all()
    assert model.item_vectors().shape == (SIZES["n_items"], config.dim)
