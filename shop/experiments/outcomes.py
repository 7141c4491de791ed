"""Per-exposure outcomes rollup (being written)."""
