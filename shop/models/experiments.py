"""A/B experiments: arms, assignment and exposures."""

__all__: list[str] = []
