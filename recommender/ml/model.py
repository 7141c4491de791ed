"""Keras layers: the fused item tower and the causal self-attention (SASRec) encoder.

Every layer is created in `__init__` and named; `call` only wires them. The item
feature tables (title tokens, attribute ids, price buckets, and the id remap that
sends items never seen in training to the OOV id) are non-trainable weights of the
model, so the `.keras` file alone can score every catalogue item.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import tensorflow as tf
from keras import layers

from .config import ModelConfig
from .data import OOV


class ItemTower(layers.Layer):
    """Item vector = id embedding + mean title-token, mean attribute and price embeddings
    (+ the mean id embedding of the item's neighbours, when given).

    An item unseen in training is passed with the OOV id, so its vector comes from
    its title and attributes plus the (trained) OOV embedding.
    """

    def __init__(
        self,
        dim: int,
        n_items: int,
        n_tokens: int,
        n_attributes: int,
        n_prices: int,
        use_titles: bool,
        use_attributes: bool,
        use_price: bool,
        id_dropout: float = 0.0,
        seed: int = 0,
        dense_bags: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        init = keras.initializers.TruncatedNormal(stddev=0.05, seed=seed)
        self.use_titles, self.use_attributes, self.use_price = use_titles, use_attributes, use_price
        self.id_dropout = id_dropout
        # XLA has no sparse matmul kernel: compiled training steps average the bags
        # densely; eager calls (validation, serving) keep the cheaper sparse product.
        self.dense_bags = dense_bags
        self.id_embedding = self._embedding(n_items, dim, init, "item_id_embedding")
        self.token_embedding = self._embedding(max(n_tokens, 2), dim, init, "title_token_embedding")
        self.attribute_embedding = self._embedding(
            max(n_attributes, 2), dim, init, "attribute_embedding"
        )
        self.price_embedding = self._embedding(max(n_prices, 1), dim, "zeros", "price_embedding")
        # The bag tables are read as matrices (see `_bag_mean`), so build them here.
        self.token_embedding.build((None,))
        self.attribute_embedding.build((None,))
        self.seed_generator = keras.random.SeedGenerator(seed + 7, name="id_dropout_seed")

    def _embedding(self, rows: int, dim: int, initializer: Any, name: str) -> layers.Embedding:
        return layers.Embedding(
            rows, dim, embeddings_initializer=initializer, name=name, dtype=self.dtype_policy
        )

    def call(self, ids, tokens, attributes, prices, neighbours=None, training=False):
        if training and self.id_dropout > 0:
            drop = keras.random.uniform(tf.shape(ids), seed=self.seed_generator) < self.id_dropout
            ids = tf.where(drop & (ids > OOV), tf.constant(OOV, ids.dtype), ids)
        vec = self.id_embedding(ids)
        dense = self.dense_bags and not tf.executing_eagerly()
        bag_mean = _dense_bag_mean if dense else _bag_mean
        if self.use_titles:
            vec = vec + bag_mean(tokens, self.token_embedding.embeddings, vec.dtype)
        if self.use_attributes:
            vec = vec + bag_mean(attributes, self.attribute_embedding.embeddings, vec.dtype)
        if self.use_price:
            vec = vec + self.price_embedding(prices)
        if neighbours is not None:
            vec = vec + bag_mean(neighbours, self.id_embedding.embeddings, vec.dtype)
        return vec


def _bag_mean(ids: tf.Tensor, table: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
    """Mean of the rows of `table` named by each row of `ids` (0 = none), as a sparse matmul.

    A sparse (items x vocabulary) product has a dense, cheap gradient; gathering
    (items, tokens, dim) embeddings would cost ~10x more per training step.
    """
    ids = tf.convert_to_tensor(ids)
    where = tf.where(ids > 0)
    counts = tf.reduce_sum(tf.cast(ids > 0, tf.float32), axis=1)
    weights = tf.gather(1.0 / tf.maximum(counts, 1.0), where[:, 0])
    cols = tf.cast(tf.gather_nd(ids, where), tf.int64)
    matrix = tf.sparse.SparseTensor(
        indices=tf.stack([where[:, 0], cols], axis=1),
        values=weights,
        dense_shape=tf.cast(tf.stack([tf.shape(ids)[0], tf.shape(table)[0]]), tf.int64),
    )
    out = tf.sparse.sparse_dense_matmul(matrix, tf.cast(table, tf.float32))
    return tf.cast(out, dtype)


def _dense_bag_mean(ids: tf.Tensor, table: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
    """`_bag_mean` with static shapes, for XLA (which cannot compile the sparse product).

    Every slot's row is gathered, padding weighing 0: (items, width, dim) values, about
    150 MB at Beauty's size for 16 title tokens (and as much again for the 20
    neighbours), cheap on the GPU where XLA is on by default.
    """
    ids = tf.convert_to_tensor(ids)
    present = tf.cast(ids > 0, tf.float32)
    weights = present / tf.maximum(tf.reduce_sum(present, axis=1, keepdims=True), 1.0)
    rows = tf.gather(tf.cast(table, tf.float32), ids)
    return tf.cast(tf.einsum("iw,iwd->id", weights, rows), dtype)


@keras.saving.register_keras_serializable(package="shopreco")
class SequentialRecommender(keras.Model):
    """SASRec-style causal transformer over fused item vectors.

    Inputs are left-padded (users, length) int32 arrays of item, event-type and
    time-gap ids; positions count back from the most recent event, so the last
    event always has position 0. Output item scores are dot products with the same
    item tower (tied input/output embeddings).
    """

    def __init__(self, config: ModelConfig, sizes: dict[str, int], **kwargs: Any) -> None:
        policy = kwargs.pop("dtype", None) or (
            "mixed_float16" if sizes.get("mixed_precision") else "float32"
        )
        super().__init__(dtype=policy, **kwargs)
        self.model_config, self.sizes = config, dict(sizes)
        self._add_item_tables(config, sizes)
        self.tower = ItemTower(
            config.dim,
            sizes["n_items"],
            sizes["n_tokens"],
            sizes["n_attributes"],
            sizes["n_prices"],
            config.use_titles,
            config.use_attributes,
            config.use_price,
            config.id_dropout,
            config.seed,
            dense_bags=bool(sizes.get("jit_compile")),
            name="item_tower",
            dtype=self.dtype_policy,
        )
        self._add_input_embeddings(config, sizes["n_events"])
        self._add_attention_blocks(config)
        self.final_norm = layers.LayerNormalization(
            epsilon=1e-6, name="final_norm", dtype=self.dtype_policy
        )
        self.scale = math.sqrt(config.dim)

    def _add_item_tables(self, config: ModelConfig, sizes: dict[str, int]) -> None:
        """Non-trainable per-item tables: id remap, title tokens, attributes, price bucket,
        and the neighbours when the model uses them."""
        n_items = sizes["n_items"]
        self.id_table = self._item_table((n_items,), "item_id_table")
        # Table widths come from the features actually built (sizes), not the config.
        self.token_table = self._item_table(
            (n_items, sizes.get("title_tokens", config.max_title_tokens)), "item_token_table"
        )
        self.attribute_table = self._item_table(
            (n_items, sizes.get("attributes", config.max_attributes)), "item_attribute_table"
        )
        self.price_table = self._item_table((n_items,), "item_price_table")
        # Per item: the items most often near it in training (features.item_neighbours),
        # then the items described most alike (features.content_neighbours).
        width = int(sizes.get("neighbours", 0))
        self.neighbour_table = (
            self._item_table((n_items, width), "item_neighbour_table") if width > 0 else None
        )

    def _item_table(self, shape: tuple[int, ...], name: str) -> keras.Variable:
        return self.add_weight(
            shape=shape, dtype="int32", initializer="zeros", trainable=False, name=name
        )

    def _add_input_embeddings(self, config: ModelConfig, n_events: int) -> None:
        """Position, event-type and time-gap embeddings added to each input item vector."""
        dim, policy = config.dim, self.dtype_policy
        init = keras.initializers.TruncatedNormal(stddev=0.05, seed=config.seed + 1)
        self.position_embedding = layers.Embedding(
            config.max_len,
            dim,
            embeddings_initializer=init,
            name="position_embedding",
            dtype=policy,
        )
        self.event_embedding = layers.Embedding(
            max(n_events, 2),
            dim,
            embeddings_initializer="zeros",
            name="event_embedding",
            dtype=policy,
        )
        self.gap_embedding = layers.Embedding(
            config.n_gap_buckets,
            dim,
            embeddings_initializer="zeros",
            name="gap_embedding",
            dtype=policy,
        )
        self.input_dropout = layers.Dropout(
            config.dropout, seed=config.seed + 2, name="input_dropout", dtype=policy
        )

    def _add_attention_blocks(self, config: ModelConfig) -> None:
        """Per block: pre-norm causal self-attention, then a pre-norm GELU feed-forward."""
        self.attn_norms, self.attentions, self.attn_dropouts = [], [], []
        self.ffn_norms, self.ffn_in, self.ffn_out, self.ffn_dropouts = [], [], [], []
        for block in range(config.n_blocks):
            self._add_attention_block(config, block)

    def _add_attention_block(self, config: ModelConfig, block: int) -> None:
        dim, policy, name = config.dim, self.dtype_policy, f"block{block}"
        self.attn_norms.append(
            layers.LayerNormalization(epsilon=1e-6, name=f"{name}_attention_norm", dtype=policy)
        )
        self.attentions.append(
            layers.MultiHeadAttention(
                config.n_heads,
                dim // config.n_heads,
                dropout=config.attention_dropout,
                seed=config.seed + 10 + block,
                name=f"{name}_attention",
                dtype=policy,
            )
        )
        self.attn_dropouts.append(self._dropout(config, 20 + block, f"{name}_attention_dropout"))
        self.ffn_norms.append(
            layers.LayerNormalization(epsilon=1e-6, name=f"{name}_ffn_norm", dtype=policy)
        )
        self.ffn_in.append(
            layers.Dense(dim, activation="gelu", name=f"{name}_ffn_in", dtype=policy)
        )
        self.ffn_out.append(layers.Dense(dim, name=f"{name}_ffn_out", dtype=policy))
        self.ffn_dropouts.append(self._dropout(config, 30 + block, f"{name}_ffn_dropout"))

    def _dropout(self, config: ModelConfig, seed_offset: int, name: str) -> layers.Dropout:
        return layers.Dropout(
            config.dropout, seed=config.seed + seed_offset, name=name, dtype=self.dtype_policy
        )

    def item_vectors(self, training: bool = False) -> tf.Tensor:
        """(n_items, dim) vectors of every catalogue item (rows 0/1: padding/OOV)."""
        return self.tower(
            self.id_table,
            self.token_table,
            self.attribute_table,
            self.price_table,
            self.neighbour_table,
            training=training,
        )

    def encode(
        self, items, events, gaps, item_vectors, training: bool = False, last_only: bool = False
    ):
        """(users, length, dim) hidden states; position t sees events <= t only.

        With `last_only` the last block computes the most recent position only and
        the result is (users, 1, dim): all that scoring needs, at lower cost.
        """
        config = self.model_config
        x = self._embed_inputs(items, events, gaps, item_vectors, training)
        valid = items > 0
        keep = tf.cast(valid, x.dtype)[..., None]
        x = x * keep
        length = tf.shape(items)[1]
        causal = tf.linalg.band_part(tf.ones((length, length), tf.bool), -1, 0)
        # Padding keys are masked; the diagonal stays open so padded queries never
        # attend to an empty set (their outputs are zeroed anyway).
        mask = (causal[None] & valid[:, None, :]) | tf.eye(length, dtype=tf.bool)[None]
        for b in range(config.n_blocks):
            h = self.attn_norms[b](x)
            if last_only and b == config.n_blocks - 1:
                # Only the last query is needed; keys/values still cover the history.
                x, keep, mask = x[:, -1:], keep[:, -1:], mask[:, -1:]
                h = self.attentions[b](h[:, -1:], h, attention_mask=mask, training=training)
            else:
                h = self.attentions[b](h, h, attention_mask=mask, training=training)
            x = x + self.attn_dropouts[b](h, training=training)
            h = self.ffn_norms[b](x)
            h = self.ffn_out[b](self.ffn_in[b](h))
            x = (x + self.ffn_dropouts[b](h, training=training)) * keep
        return self.final_norm(x)

    def _embed_inputs(self, items, events, gaps, item_vectors, training: bool):
        """Scaled item vectors plus position (counted back from the latest), event and gap."""
        config = self.model_config
        length = tf.shape(items)[1]
        x = tf.gather(item_vectors, items) * tf.cast(self.scale, item_vectors.dtype)
        positions = tf.minimum(tf.range(length - 1, -1, -1), config.max_len - 1)
        x = x + self.position_embedding(positions)[None]
        if config.use_events:
            x = x + self.event_embedding(events)
        if config.use_time_gaps:
            x = x + self.gap_embedding(gaps)
        return self.input_dropout(x, training=training)

    def call(self, inputs, training=False):
        """User vectors: the hidden state at the most recent event, (users, dim)."""
        items, events, gaps = inputs
        hidden = self.encode(
            items, events, gaps, self.item_vectors(training=training), training=training
        )
        return hidden[:, -1, :]

    def get_config(self) -> dict[str, Any]:
        return {"config": self.model_config.to_dict(), "sizes": self.sizes, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SequentialRecommender:
        values = dict(config)
        return cls(ModelConfig.from_saved(values.pop("config")), **values)


def build_sequential_recommender(
    config: ModelConfig, sizes: dict[str, Any]
) -> SequentialRecommender:
    """A new model with its weights created (by one call on a dummy batch)."""
    model = SequentialRecommender(config, sizes, name="sequential_recommender")
    dummy = tf.zeros((1, 2), tf.int32)
    model((dummy, dummy, dummy), training=False)
    return model
