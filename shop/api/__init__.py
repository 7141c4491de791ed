"""The mobile app's versioned REST API (v1 under /api/v1/); see shop.api.views."""
