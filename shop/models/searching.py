"""Search analytics rollups and search vocabulary (being written)."""

__all__: list[str] = []
