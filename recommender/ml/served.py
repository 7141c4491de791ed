"""The model the shop serves: the best of its training run's candidates, in one artifact.

A training run makes its candidates from the same split: the transformer, the tuned
item-transition baseline, their ensemble (the `Blend` of both, its weight picked on
validation), and that ensemble with the titles' content similarity as a third part
(`TitleTfidf`, its weight picked on validation too). Which is best depends on the catalogue (on Amazon Beauty the
ensemble beats the transformer alone), so `train_served` keeps the one with the best
validation NDCG@10, and the product and the offline benchmark both call it: the
benchmark's headline is the model the shop would serve.

`ServedModel` holds every component and the blend weights whatever it serves: the
serving code reads the transformer's vectors (user vectors, similar items, search
signals) and the search personalizer the transitions' matrix, for every kind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from .baselines import ItemTransitions, TitleTfidf
from .config import ModelConfig
from .data import N_RESERVED, Batch, Vocabulary
from .device import DeviceInfo
from .features import ItemFeatures
from .scoring import Blend, Recommender, standardised_sum
from .trained_model import TrainedModel

TRANSFORMER, TRANSITIONS, ENSEMBLE = "transformer", "transitions", "ensemble"
KIND_NAMES = {
    TRANSFORMER: "sasrec_fused",
    TRANSITIONS: "item_transitions",
    ENSEMBLE: "sasrec_fused+item_transitions",
}
# The name of each component, in the order of `ServedModel.weights`; a model is named
# by the components it weighs (an ensemble with content: "sasrec_fused+item_transitions
# +title_tfidf").
COMPONENT_NAMES = ("sasrec_fused", "item_transitions", "title_tfidf")
SERVED_FILE = "served.json"
TRANSITIONS_FILE = "transitions.npz"
CONTENT_FILE = "content.npz"
COOCCURRENCE_FILE = "cooccurrence.npz"
# The search's "co_bought" signal: items had by the same shoppers anywhere in their
# histories (a wide window both ways), scored from a shopper's latest 20 products.
# Chosen on amazon_scientific's validation queries (MRR +2.5% over the next-item
# transitions' window); the transitions the recommendations serve are tuned per run.
COOCCURRENCE_PARAMS = {"window": 50, "backward": 1.0, "decay": 0.85, "last": 20}


class ServedModel(Recommender):
    """The transformer, the item transitions and the titles' content similarity, with
    the weights the shop serves them at.

    `kind` is "transformer" (weights (1, 0, 0)), "transitions" ((0, 1, 0)) or
    "ensemble" (more than one > 0, scored exactly as `Blend`). Reasons come from the
    heaviest component. Vectors, the config and the vocabularies are the
    transformer's, whatever the kind.

    Attributes:
        transformer: The trained transformer.
        transitions: The fitted ItemTransitions (`matrix` over internal ids).
        weights: (transformer, transitions, content) weights; two given mean no content.
        content: The TitleTfidf over the item features (None: no content part).
        cooccurrence: Item co-occurrence counts (an ItemTransitions with
            COOCCURRENCE_PARAMS) the search personalizer reads; empty if not given.
        validation: Every candidate of the run that chose this model: name ->
            {"kind", "validation_ndcg@10", "params", "served"} (saved with it).
    """

    def __init__(
        self,
        transformer: TrainedModel,
        transitions: ItemTransitions,
        weights: Sequence[float] = (1.0, 0.0),
        validation: dict[str, dict[str, Any]] | None = None,
        cooccurrence: ItemTransitions | None = None,
        content: TitleTfidf | None = None,
    ) -> None:
        if len(weights) not in (2, 3):
            raise ValueError(
                f"weights are (transformer, transitions[, content]), not {tuple(weights)}"
            )
        w_transformer, w_transitions, w_content = (float(w) for w in (*weights, 0.0)[:3])
        if min(w_transformer, w_transitions, w_content) < 0 or w_transformer + w_transitions <= 0:
            raise ValueError(
                "weights must be >= 0 with the transformer's or the transitions' > 0,"
                f" not {tuple(weights)}"
            )
        if w_content > 0 and content is None:
            raise ValueError("a content weight needs the content model")
        for part in (transitions, content):
            if part is not None and len(part.item_vocab) != len(transformer.item_vocab):
                raise ValueError("the model's components know different items")
        self.transformer, self.transitions, self.content = transformer, transitions, content
        self.cooccurrence = cooccurrence or _no_transitions(transformer)
        self.weights = (w_transformer, w_transitions, w_content)
        self.validation = validation or {}
        self.item_vocab: Vocabulary = transformer.item_vocab
        self.event_vocab: Vocabulary = transformer.event_vocab
        self.max_len, self.n_gap_buckets = transformer.max_len, transformer.n_gap_buckets
        self._scorer = self._make_scorer()
        self._unit_vectors: np.ndarray | None = None

    def _components(self) -> list[tuple[Recommender, float]]:
        """(component, weight) of every component the model weighs (weight > 0)."""
        parts = (self.transformer, self.transitions, self.content)
        return [(p, w) for p, w in zip(parts, self.weights, strict=True) if w > 0]

    def _make_scorer(self) -> Recommender:
        used = self._components()
        if len(used) == 1:
            return used[0][0]
        return Blend([p for p, _ in used], [w for _, w in used], name=self.name)

    @property
    def kind(self) -> str:  # type: ignore[override]
        w_transformer, w_transitions, w_content = self.weights
        if w_transitions == 0 and w_content == 0:
            return TRANSFORMER
        if w_transformer == 0 and w_content == 0:
            return TRANSITIONS
        return ENSEMBLE

    @property
    def name(self) -> str:  # type: ignore[override]
        return "+".join(n for n, w in zip(COMPONENT_NAMES, self.weights, strict=True) if w > 0)

    # -- scoring -------------------------------------------------------------------
    def score(self, batch: Batch) -> np.ndarray:
        return self._scorer.score(batch)

    def masked_top_k(
        self, batch: Batch, bias: np.ndarray, where: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        # The component's own top-K path (the transformer's is faster than the default).
        return self._scorer.masked_top_k(batch, bias, where, k)

    def reasons(self, batch: Batch, recommended: np.ndarray) -> np.ndarray:
        heaviest = max(self._components(), key=lambda part: part[1])[0]  # first of equals
        return heaviest.reasons(batch, recommended)

    def similar_scores(self, internal_id: int) -> np.ndarray:
        """(n_items,) how similar each item is to item `internal_id`, per the served kind.

        The transformer's item-vector cosine, the transitions' symmetric row (how
        often an item follows or precedes it), or their standardised blend with the
        model's weights (the content part is left out: similar items are read from
        behaviour). Padding and OOV get -inf; the item itself is not masked.
        """
        parts, weights = [], []
        if self.weights[0] > 0:
            parts.append(self._vector_cosine(internal_id))
            weights.append(self.weights[0])
        if self.weights[1] > 0:
            parts.append(self.transitions.neighbour_scores(internal_id))
            weights.append(self.weights[1])
        if len(parts) == 2:
            return standardised_sum((p[None, :] for p in parts), weights)[0]
        out = parts[0].astype(np.float32)
        out[:N_RESERVED] = -np.inf
        return out

    def affinity(self, user_vector: np.ndarray, recent: Sequence[int], items: np.ndarray):
        """How much the served model likes each of `items` (internal ids) for a shopper
        with this user vector and these latest items (internal ids, newest first): the
        transformer's user . item vector, the transitions' scores from the latest items,
        or their blend with the model's weights, each standardised over `items` (over
        the whole catalogue for recommendations; a search has only its candidates).
        The content part is left out: the search ranks the text match itself."""
        parts, weights = [], []
        if self.weights[0] > 0:
            parts.append(self.item_vectors_internal()[items] @ user_vector)
            weights.append(self.weights[0])
        if self.weights[1] > 0:
            parts.append(self.transitions.recent_scores(recent, items))
            weights.append(self.weights[1])
        if len(parts) == 1:
            return np.asarray(parts[0], dtype=np.float64)
        return sum(
            w * _standardised(np.asarray(p, np.float64))
            for p, w in zip(parts, weights, strict=True)
        )

    def _vector_cosine(self, internal_id: int) -> np.ndarray:
        if self._unit_vectors is None:
            vectors = self.transformer.item_vectors_internal()
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            self._unit_vectors = vectors / np.maximum(norms, 1e-8)
        return self._unit_vectors @ self._unit_vectors[internal_id]

    # -- the transformer's side, for the serving code --------------------------------
    @property
    def config(self) -> ModelConfig:
        return self.transformer.config

    @property
    def metrics(self) -> dict[str, Any]:
        return self.transformer.metrics

    @metrics.setter
    def metrics(self, value: dict[str, Any]) -> None:
        self.transformer.metrics = value

    @property
    def device(self) -> DeviceInfo:
        return self.transformer.device

    @property
    def features(self) -> ItemFeatures:
        return self.transformer.features

    def item_vectors(self) -> tuple[list[Any], np.ndarray]:
        return self.transformer.item_vectors()

    def item_vectors_internal(self) -> np.ndarray:
        return self.transformer.item_vectors_internal()

    def user_vectors(self, histories, timestamps=None, events=None) -> np.ndarray:
        return self.transformer.user_vectors(histories, timestamps, events)

    def item_vector_for_new_item(self, title, attribute_ids=(), price_bucket=None) -> np.ndarray:
        return self.transformer.item_vector_for_new_item(title, attribute_ids, price_bucket)

    # -- artifact -------------------------------------------------------------------
    def save(self, directory: str | os.PathLike) -> Path:
        """The transformer's files, transitions.npz (matrix, item counts, parameters),
        content.npz (the content part's item rows and parameters, when it has one) and
        served.json (kind, weights, the parts' parameters, the candidates)."""
        path = self.transformer.save(directory)
        _save_transitions(path / TRANSITIONS_FILE, self.transitions)
        _save_transitions(path / COOCCURRENCE_FILE, self.cooccurrence)
        if self.content is not None:
            _save_content(path / CONTENT_FILE, self.content)
        else:  # a directory saved into before keeps no other model's content
            (path / CONTENT_FILE).unlink(missing_ok=True)
        served = {
            "kind": self.kind,
            "name": self.name,
            "weights": list(self.weights),
            "transitions": self.transitions.params,
            "content": self.content.params if self.content is not None else None,
            "candidates": self.validation,
        }
        (path / SERVED_FILE).write_text(json.dumps(served, indent=2, default=float))
        return path

    @classmethod
    def load(cls, directory: str | os.PathLike) -> ServedModel:
        """Rebuilds a model saved by `save`; it scores exactly as the saved one.

        A directory without served.json (saved before the served model existed) is
        the transformer alone: kind "transformer", with transitions that know nothing;
        one without content.npz has no content part.
        """
        path = Path(directory)
        transformer = TrainedModel.load(path)
        if not (path / SERVED_FILE).exists():
            return cls(transformer, _no_transitions(transformer))
        served = json.loads((path / SERVED_FILE).read_text())
        transitions = _load_transitions(path / TRANSITIONS_FILE, transformer)
        cooccurrence = None
        if (path / COOCCURRENCE_FILE).exists():
            cooccurrence = _load_transitions(path / COOCCURRENCE_FILE, transformer)
        content = None
        if (path / CONTENT_FILE).exists():
            content = _load_content(path / CONTENT_FILE, transformer)
        return cls(
            transformer,
            transitions,
            served["weights"],
            served.get("candidates"),
            cooccurrence,
            content,
        )


def _standardised(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() + 1e-9)


def _no_transitions(transformer: TrainedModel) -> ItemTransitions:
    n_items = len(transformer.item_vocab)
    return ItemTransitions.from_matrix(
        sp.csr_matrix((n_items, n_items)),
        np.zeros(n_items),
        transformer.item_vocab,
        transformer.event_vocab,
        max_len=transformer.max_len,
    )


def _save_matrix(file: Path, matrix: sp.spmatrix, item_counts, params: dict) -> None:
    """A part's sparse matrix, training item counts and parameters in one .npz."""
    matrix = sp.csr_matrix(matrix)
    np.savez(
        file,
        data=matrix.data,
        indices=matrix.indices,
        indptr=matrix.indptr,
        shape=np.asarray(matrix.shape),
        item_counts=item_counts,
        params=np.asarray(json.dumps(params)),
    )


def _read_matrix(file: Path) -> tuple[sp.csr_matrix, np.ndarray, dict]:
    """What `_save_matrix` wrote: (matrix, item counts, parameters)."""
    with np.load(file, allow_pickle=False) as saved:
        matrix = sp.csr_matrix(
            (saved["data"], saved["indices"], saved["indptr"]), shape=tuple(saved["shape"])
        )
        return matrix, saved["item_counts"], json.loads(str(saved["params"]))


def _save_transitions(file: Path, model: ItemTransitions) -> None:
    _save_matrix(file, model.matrix, model.counts, model.params)


def _load_transitions(file: Path, transformer: TrainedModel) -> ItemTransitions:
    matrix, counts, params = _read_matrix(file)
    return ItemTransitions.from_matrix(
        matrix,
        counts,
        transformer.item_vocab,
        transformer.event_vocab,
        params,
        max_len=transformer.max_len,
    )


def _save_content(file: Path, model: TitleTfidf) -> None:
    _save_matrix(file, model.x, model.counts, model.params)


def _load_content(file: Path, transformer: TrainedModel) -> TitleTfidf:
    rows, counts, params = _read_matrix(file)
    return TitleTfidf.from_rows(
        rows,
        counts,
        transformer.item_vocab,
        transformer.event_vocab,
        params,
        max_len=transformer.max_len,
        n_gap_buckets=transformer.n_gap_buckets,
    )
