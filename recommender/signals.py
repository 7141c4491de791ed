"""The recommender's own signals, for layers above it (config) and its receivers."""

from django.dispatch import Signal

# A process has just loaded a model to serve: long-lived objects were created (the web
# process's heap tuning in config/ listens). Sent with ``version_id``.
model_loaded = Signal()

# A model version became the one served and the transaction that activated it
# committed. Sent with ``version_id``.
model_activated = Signal()
