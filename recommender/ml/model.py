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
    """Item vector = id embedding + mean title-token, mean attribute and price embeddings.

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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        init = keras.initializers.TruncatedNormal(stddev=0.05, seed=seed)
        self.use_titles, self.use_attributes, self.use_price = use_titles, use_attributes, use_price
        self.id_dropout = id_dropout
        self.id_embedding = layers.Embedding(
            n_items,
            dim,
            embeddings_initializer=init,
            name="item_id_embedding",
            dtype=self.dtype_policy,
        )
        self.token_embedding = layers.Embedding(
            max(n_tokens, 2),
            dim,
            embeddings_initializer=init,
            name="title_token_embedding",
            dtype=self.dtype_policy,
        )
        self.attribute_embedding = layers.Embedding(
            max(n_attributes, 2),
            dim,
            embeddings_initializer=init,
            name="attribute_embedding",
            dtype=self.dtype_policy,
        )
        self.price_embedding = layers.Embedding(
            max(n_prices, 1),
            dim,
            embeddings_initializer="zeros",
            name="price_embedding",
            dtype=self.dtype_policy,
        )
        # The bag tables are read as matrices (see `_bag_mean`), so build them here.
        self.token_embedding.build((None,))
        self.attribute_embedding.build((None,))
        self.seed_generator = keras.random.SeedGenerator(seed + 7, name="id_dropout_seed")

    def call(self, ids, tokens, attributes, prices, training=False):
        if training and self.id_dropout > 0:
            drop = keras.random.uniform(tf.shape(ids), seed=self.seed_generator) < self.id_dropout
            ids = tf.where(drop & (ids > OOV), tf.constant(OOV, ids.dtype), ids)
        vec = self.id_embedding(ids)
        if self.use_titles:
            vec = vec + _bag_mean(tokens, self.token_embedding.embeddings, vec.dtype)
        if self.use_attributes:
            vec = vec + _bag_mean(attributes, self.attribute_embedding.embeddings, vec.dtype)
        if self.use_price:
            vec = vec + self.price_embedding(prices)
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


@keras.saving.register_keras_serializable(package="shopreco")
class SequentialRecommender(keras.Model):
    """SASRec-style causal transformer over fused item vectors.

    Inputs are left-padded (users, length) int32 arrays of item, event-type and
    time-gap ids; positions count back from the most recent event, so the last
    event always has position 0. Output item scores are dot products with the same
    item tower (tied input/output embeddings).
    """

    def __init__(self, config: dict[str, Any], sizes: dict[str, int], **kwargs: Any) -> None:
        cfg = ModelConfig.from_dict(config)
        policy = kwargs.pop("dtype", None) or (
            "mixed_float16" if sizes.get("mixed_precision") else "float32"
        )
        super().__init__(dtype=policy, **kwargs)
        self.cfg_dict, self.sizes = dict(config), dict(sizes)
        self.cfg = cfg
        d, n_items = cfg.dim, sizes["n_items"]
        p = self.dtype_policy
        self.id_table = self.add_weight(
            shape=(n_items,),
            dtype="int32",
            initializer="zeros",
            trainable=False,
            name="item_id_table",
        )
        # Table widths come from the features actually built (sizes), not the config.
        self.token_table = self.add_weight(
            shape=(n_items, sizes.get("title_tokens", cfg.max_title_tokens)),
            dtype="int32",
            initializer="zeros",
            trainable=False,
            name="item_token_table",
        )
        self.attribute_table = self.add_weight(
            shape=(n_items, sizes.get("attributes", cfg.max_attributes)),
            dtype="int32",
            initializer="zeros",
            trainable=False,
            name="item_attribute_table",
        )
        self.price_table = self.add_weight(
            shape=(n_items,),
            dtype="int32",
            initializer="zeros",
            trainable=False,
            name="item_price_table",
        )
        self.tower = ItemTower(
            d,
            n_items,
            sizes["n_tokens"],
            sizes["n_attributes"],
            sizes["n_prices"],
            cfg.use_titles,
            cfg.use_attributes,
            cfg.use_price,
            cfg.id_dropout,
            cfg.seed,
            name="item_tower",
            dtype=p,
        )
        init = keras.initializers.TruncatedNormal(stddev=0.05, seed=cfg.seed + 1)
        self.position_embedding = layers.Embedding(
            cfg.max_len, d, embeddings_initializer=init, name="position_embedding", dtype=p
        )
        self.event_embedding = layers.Embedding(
            max(sizes["n_events"], 2),
            d,
            embeddings_initializer="zeros",
            name="event_embedding",
            dtype=p,
        )
        self.gap_embedding = layers.Embedding(
            cfg.n_gap_buckets, d, embeddings_initializer="zeros", name="gap_embedding", dtype=p
        )
        self.input_dropout = layers.Dropout(
            cfg.dropout, seed=cfg.seed + 2, name="input_dropout", dtype=p
        )
        self.attn_norms, self.attentions, self.attn_dropouts = [], [], []
        self.ffn_norms, self.ffn_in, self.ffn_out, self.ffn_dropouts = [], [], [], []
        for b in range(cfg.n_blocks):
            self.attn_norms.append(
                layers.LayerNormalization(epsilon=1e-6, name=f"block{b}_attention_norm", dtype=p)
            )
            self.attentions.append(
                layers.MultiHeadAttention(
                    cfg.n_heads,
                    d // cfg.n_heads,
                    dropout=cfg.attention_dropout,
                    seed=cfg.seed + 10 + b,
                    name=f"block{b}_attention",
                    dtype=p,
                )
            )
            self.attn_dropouts.append(
                layers.Dropout(
                    cfg.dropout, seed=cfg.seed + 20 + b, name=f"block{b}_attention_dropout", dtype=p
                )
            )
            self.ffn_norms.append(
                layers.LayerNormalization(epsilon=1e-6, name=f"block{b}_ffn_norm", dtype=p)
            )
            self.ffn_in.append(layers.Dense(d, activation="gelu", name=f"block{b}_ffn_in", dtype=p))
            self.ffn_out.append(layers.Dense(d, name=f"block{b}_ffn_out", dtype=p))
            self.ffn_dropouts.append(
                layers.Dropout(
                    cfg.dropout, seed=cfg.seed + 30 + b, name=f"block{b}_ffn_dropout", dtype=p
                )
            )
        self.final_norm = layers.LayerNormalization(epsilon=1e-6, name="final_norm", dtype=p)
        self.scale = math.sqrt(d)

    def item_vectors(self, training: bool = False) -> tf.Tensor:
        """(n_items, dim) vectors of every catalogue item (rows 0/1: padding/OOV)."""
        return self.tower(
            self.id_table,
            self.token_table,
            self.attribute_table,
            self.price_table,
            training=training,
        )

    def encode(
        self, items, events, gaps, item_vectors, training: bool = False, last_only: bool = False
    ):
        """(users, length, dim) hidden states; position t sees events <= t only.

        With `last_only` the last block computes the most recent position only and
        the result is (users, 1, dim): all that scoring needs, at lower cost.
        """
        cfg = self.cfg
        length = tf.shape(items)[1]
        x = tf.gather(item_vectors, items) * tf.cast(self.scale, item_vectors.dtype)
        positions = tf.minimum(tf.range(length - 1, -1, -1), cfg.max_len - 1)
        x = x + self.position_embedding(positions)[None]
        if cfg.use_events:
            x = x + self.event_embedding(events)
        if cfg.use_time_gaps:
            x = x + self.gap_embedding(gaps)
        x = self.input_dropout(x, training=training)
        valid = items > 0
        keep = tf.cast(valid, x.dtype)[..., None]
        x = x * keep
        causal = tf.linalg.band_part(tf.ones((length, length), tf.bool), -1, 0)
        # Padding keys are masked; the diagonal stays open so padded queries never
        # attend to an empty set (their outputs are zeroed anyway).
        mask = (causal[None] & valid[:, None, :]) | tf.eye(length, dtype=tf.bool)[None]
        for b in range(cfg.n_blocks):
            h = self.attn_norms[b](x)
            if last_only and b == cfg.n_blocks - 1:
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

    def call(self, inputs, training=False):
        """User vectors: the hidden state at the most recent event, (users, dim)."""
        items, events, gaps = inputs
        hidden = self.encode(
            items, events, gaps, self.item_vectors(training=training), training=training
        )
        return hidden[:, -1, :]

    def get_config(self) -> dict[str, Any]:
        return {"config": self.cfg_dict, "sizes": self.sizes, "name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SequentialRecommender:
        return cls(**config)
