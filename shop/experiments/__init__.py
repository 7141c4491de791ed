"""A/B experiments between model versions or search orders.

- ``assignment``: the arm a shopper is in (a hash of the salt and their id), and which
  experiment serves a surface;
- ``serving``: the hot path: the arm served and the exposure recorded (never raises);
  registers the search service's arm provider;
- ``variants``: what an arm may serve, and the model versions the recommender lists;
- ``outcomes``: the ``experiments`` rollup counting what exposed shoppers did;
- ``stats``: confidence intervals, tests, sample-ratio mismatch, sample sizes (pure);
- ``report``: an experiment's per-arm results and when a winner may be declared;
- ``services``: create, start, stop, declare the winner.
"""

# Imported when the shop app is ready (shop.apps imports shop.experiments.outcomes):
# registers the search service's arm provider.
from shop.experiments import serving  # noqa: F401
