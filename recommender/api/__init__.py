"""The recommender's staff endpoints of API v1 (model versions, training runs), mounted
by config.urls into the ``v1`` namespace when the plugin is installed."""
