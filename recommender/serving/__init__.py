"""Serving the active model: loading it, its item matrix, what it knows of a shopper,
the cached top-K lists and the refresh that writes them, and search's signals."""
