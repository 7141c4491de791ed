"""Shopper accounts: sign-up, and joining an anonymous device's or session's history to
the account that signs in on it."""
