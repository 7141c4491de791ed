"""A/B experiments (being written)."""
