"""Item side features: title tokens, attribute ids and price buckets per internal item id.

They are aligned with the item vocabulary of the sequences (`data.py`), so row i
describes internal item i; padding and OOV rows stay 0.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from .data import N_RESERVED, Vocabulary

_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(title: str | None) -> list[str]:
    """Lower-cased alphanumeric tokens of a title, in order, without repeats."""
    if not title:
        return []
    seen: dict[str, None] = {}
    for token in _TOKEN.findall(title.lower()):
        if len(token) > 1 or token.isdigit():
            seen.setdefault(token, None)
    return list(seen)


@dataclass
class ItemFeatures:
    """Side features of every item, aligned with the item vocabulary.

    Attributes:
        tokens: (n_items, max_title_tokens) int32 title-token ids, 0-padded.
        attributes: (n_items, max_attributes) int32 attribute ids (brand, category,
            ...), 0-padded.
        prices: (n_items,) int32 price bucket ids; 0 = unknown.
        token_vocab: Title-token vocabulary.
        attribute_vocab: Attribute vocabulary.
        n_price_buckets: Number of price bucket ids, 0 included.
    """

    tokens: np.ndarray
    attributes: np.ndarray
    prices: np.ndarray
    token_vocab: Vocabulary
    attribute_vocab: Vocabulary
    n_price_buckets: int

    def text_only(self, titles: bool = True, attributes: bool = True) -> ItemFeatures:
        """A copy whose title tokens (`titles` False) or attribute ids (`attributes`
        False) are all empty: the text the content similarity may read when the model
        is told not to use one of them (`ModelConfig.use_titles` / `use_attributes`)."""
        return dataclasses.replace(
            self,
            tokens=self.tokens if titles else np.zeros_like(self.tokens),
            attributes=self.attributes if attributes else np.zeros_like(self.attributes),
        )

    def encode_item(
        self,
        title: str | None,
        attribute_ids: Iterable[Any] = (),
        price_bucket: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Feature ids of one (possibly new) item; unknown tokens/attributes are dropped."""
        toks = [self.token_vocab.index[t] for t in tokenize(title) if t in self.token_vocab]
        attrs = [self.attribute_vocab.index[a] for a in attribute_ids if a in self.attribute_vocab]
        tok_row = np.zeros(self.tokens.shape[1], dtype=np.int32)
        attr_row = np.zeros(self.attributes.shape[1], dtype=np.int32)
        tok_row[: len(toks[: len(tok_row)])] = toks[: len(tok_row)]
        attr_row[: len(attrs[: len(attr_row)])] = attrs[: len(attr_row)]
        price = (
            int(price_bucket)
            if price_bucket and 0 < int(price_bucket) < self.n_price_buckets
            else 0
        )
        return tok_row, attr_row, price

    def to_json(self) -> dict[str, Any]:
        return {
            "token_vocab": self.token_vocab.to_json(),
            "attribute_vocab": self.attribute_vocab.to_json(),
            "n_price_buckets": self.n_price_buckets,
        }


def build_item_features(
    item_vocab: Vocabulary,
    titles: dict[Any, str | None] | None = None,
    attributes: dict[Any, Sequence[Any]] | None = None,
    price_buckets: dict[Any, int | None] | None = None,
    max_title_tokens: int = 16,
    max_attributes: int = 8,
    min_token_count: int = 2,
) -> ItemFeatures:
    """Feature arrays for every item of `item_vocab` (missing features stay 0).

    Args:
        item_vocab: The item vocabulary the sequences use.
        titles: Raw item id -> title (None or "" when unknown).
        attributes: Raw item id -> attribute ids (brand, category, ...).
        price_buckets: Raw item id -> price bucket 1..n (None or 0 when unknown).
        max_title_tokens: Tokens kept per title.
        max_attributes: Attribute ids kept per item.
        min_token_count: Tokens in fewer titles than this are dropped (they cannot
            generalise to other items).
    """
    titles = titles or {}
    attributes = attributes or {}
    price_buckets = price_buckets or {}
    n = len(item_vocab)
    items = list(enumerate(item_vocab.values, N_RESERVED))  # (internal id, raw id)
    tokens, token_vocab = _title_tokens(items, titles, n, max_title_tokens, min_token_count)
    attribute_vocab = Vocabulary(
        sorted({a for raw in item_vocab.values for a in attributes.get(raw, ())}, key=str)
    )
    attribute_ids = (
        (i, [attribute_vocab.index[a] for a in attributes.get(raw, ())]) for i, raw in items
    )
    prices = np.zeros(n, dtype=np.int32)
    for i, raw in items:
        bucket = price_buckets.get(raw)
        prices[i] = int(bucket) if bucket and int(bucket) > 0 else 0
    n_price = int(prices.max()) + 1 if n else 1
    return ItemFeatures(
        tokens,
        _id_rows(n, max_attributes, attribute_ids),
        prices,
        token_vocab,
        attribute_vocab,
        max(n_price, 1),
    )


def _title_tokens(
    items: list[tuple[int, Any]],
    titles: dict[Any, str | None],
    n_items: int,
    width: int,
    min_count: int,
) -> tuple[np.ndarray, Vocabulary]:
    """(n_items, width) title-token ids and the vocabulary of tokens in >= `min_count` titles."""
    tokenized = {i: tokenize(titles.get(raw)) for i, raw in items}
    df = Counter(t for toks in tokenized.values() for t in toks)
    vocab = Vocabulary(sorted(t for t, c in df.items() if c >= min_count))
    token_ids = ((i, [vocab.index[t] for t in tokenized[i] if t in vocab]) for i, _ in items)
    return _id_rows(n_items, width, token_ids), vocab


def _id_rows(n_rows: int, width: int, ids_per_row: Iterable[tuple[int, list[int]]]) -> np.ndarray:
    """(n_rows, width) int32 matrix; each given row holds its first `width` ids, 0-padded."""
    out = np.zeros((n_rows, width), dtype=np.int32)
    for row, ids in ids_per_row:
        kept = ids[:width]
        out[row, : len(kept)] = kept
    return out


def item_neighbours(
    sequences: Sequence[np.ndarray], n_items: int, k: int, window: int
) -> np.ndarray:
    """(n_items, k) int32 internal ids: per item, the `k` items found most often within
    `window` steps of it (either direction, weighted 1/distance) in `sequences`, the
    strongest first and 0-padded; reserved rows stay empty.

    The item tower adds the mean id embedding of an item's neighbours to its vector
    (`ModelConfig.n_neighbours`): a rarely bought item borrows what its company learned,
    as titles let it borrow from similar words. Built from the training sequences only.
    """
    out = np.zeros((n_items, max(k, 0)), dtype=np.int32)
    if k <= 0 or n_items <= N_RESERVED:
        return out
    rows, cols, weights = [], [], []
    for sequence in sequences:
        items = np.asarray(sequence, dtype=np.int64)
        for distance in range(1, min(window, len(items) - 1) + 1):
            a, b = items[:-distance], items[distance:]
            keep = (a >= N_RESERVED) & (b >= N_RESERVED) & (a != b)
            a, b = a[keep], b[keep]
            rows += [a, b]
            cols += [b, a]
            weights.append(np.full(2 * len(a), 1.0 / distance))
    if not rows:
        return out
    matrix = sp.csr_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_items, n_items),
    )
    matrix.sum_duplicates()
    for item in range(N_RESERVED, n_items):
        start, end = matrix.indptr[item], matrix.indptr[item + 1]
        if start == end:
            continue
        neighbours, strength = matrix.indices[start:end], matrix.data[start:end]
        order = np.lexsort((neighbours, -strength))[:k]  # strongest, then the lower id
        out[item, : len(order)] = neighbours[order]
    return out


def content_neighbours(features: ItemFeatures, k: int, block_values: int = 8_000_000) -> np.ndarray:
    """(n_items, k) int32 internal ids: per item, the `k` items whose title tokens and
    attribute ids are most alike (TF-IDF cosine over `features`), the most alike first,
    0-padded; items without text, and reserved rows, stay empty.

    Beside `item_neighbours` in the item tower: an item nobody bought yet, or few did,
    borrows the id embeddings of items described alike. Scored a block of items at a
    time, a (rows, n_items) dense block of at most `block_values` values (64 MB).
    """
    n_items = len(features.tokens)
    out = np.zeros((n_items, max(k, 0)), dtype=np.int32)
    rows = _tfidf_rows(features)
    if k <= 0 or rows.nnz == 0:
        return out
    transposed = sp.csr_matrix(rows.T)
    chunk = max(1, block_values // n_items)
    for start in range(N_RESERVED, n_items, chunk):
        stop = min(start + chunk, n_items)
        block = (rows[start:stop] @ transposed).toarray()
        block[:, :N_RESERVED] = 0.0
        block[np.arange(stop - start), np.arange(start, stop)] = 0.0  # not itself
        width = min(k, n_items - 1)
        top = np.argpartition(-block, width - 1, axis=1)[:, :width]
        strength = np.take_along_axis(block, top, axis=1)
        order = np.lexsort((top, -strength), axis=1)  # most alike, then the lower id
        top = np.take_along_axis(top, order, axis=1)
        strength = np.take_along_axis(strength, order, axis=1)
        out[start:stop, :width] = np.where(strength > 0, top, 0)
    return out


def _tfidf_rows(features: ItemFeatures) -> sp.csr_matrix:
    """(n_items, tokens + attributes) unit TF-IDF rows of each item's title-token and
    attribute ids (the reserved ids 0 and 1 left out)."""
    n_items = len(features.tokens)
    n_tokens = len(features.token_vocab)
    ids = np.concatenate(
        [features.tokens.astype(np.int64), features.attributes.astype(np.int64) + n_tokens],
        axis=1,
    )
    present = np.concatenate([features.tokens > 1, features.attributes > 1], axis=1)
    items = np.broadcast_to(np.arange(n_items)[:, None], ids.shape)
    width = n_tokens + len(features.attribute_vocab)
    x = sp.csr_matrix(
        (np.ones(int(present.sum())), (items[present], ids[present])), shape=(n_items, width)
    )
    x.sum_duplicates()
    x.data[:] = 1.0
    df = np.asarray(x.sum(axis=0)).ravel()
    idf = np.log((1 + n_items) / (1 + df)) + 1.0
    x = sp.csr_matrix(x @ sp.diags(idf))
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags(np.where(norms > 0, 1.0 / np.maximum(norms, 1e-12), 0.0)) @ x)
