"""A shopper's data rights: export everything stored about them, delete their account
and data."""
