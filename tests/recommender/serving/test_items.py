"""The model's item matrix."""

from __future__ import annotations

import numpy as np

from recommender.serving.items import ItemMatrix


def test_item_rows_are_found_by_binary_search():
    class Vectors:
        def item_vectors(self):
            return [40, np.int64(10), 30, 20], np.eye(4, dtype=np.float32)

    matrix = ItemMatrix.of_model(Vectors())
    rows = matrix.rows((20, 5, 40, 10, 99, 30))
    assert rows.tolist() == [3, -1, 0, 1, -1, 2]
    assert matrix.rows(()).tolist() == []
