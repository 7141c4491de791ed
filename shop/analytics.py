"""Search analytics for staff: top queries, zero-result queries, click-through by
position."""
