"""Daily activity rollups (being written)."""
