"""The shop's admin, one module per job (importing them registers their ModelAdmins):
catalogue, the event log and profiles, search rules and explain, experiments."""

from shop.admin import catalogue, events, experiments, search

__all__ = ["catalogue", "events", "experiments", "search"]
