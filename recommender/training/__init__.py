"""Training a model: the run's lifecycle, export from the shop's database, fit and
evaluation through recommender.ml, and the model versions it registers and activates."""
