"""The mobile app's versioned REST API (v1 under /api/v1/); views by area in catalogue.py, search.py, events.py; shared plumbing in base.py."""
