"""A/B experiments in the admin (being written)."""
