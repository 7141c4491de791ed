"""The segments the evaluation reports figures by, in a module of their own (no
TensorFlow): the web process's personalizer names a shopper's segment with them."""

# Shopper segments by the number of events the model reads of their history.
SEGMENTS = {"cold": (0, 3), "warm": (4, 10), "hot": (11, 1 << 62)}
# A target product is "new" when it has at most this many training events: 0 means it
# was first seen after the training cutoff (only in the held-out events), 1-2 that the
# model saw it too seldom to learn much. Every other target is "known".
NEW_PRODUCT_MAX_TRAINING_EVENTS = 2
# popular_share@k counts the recommended slots taken by the most popular tenth of the
# catalogue (by training events).
POPULAR_SHARE_OF_CATALOGUE = 0.1
