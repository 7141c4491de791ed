"""Site search: lexical retrieval, filters, facets, sort, pagination, personalized order.

Retrieval, filters and facets are the shop's; the personalized order of the top
candidates comes from the configured personalizer (shop.personalization), so the
recommender can re-rank without the shop importing it. The words of a query and the
key of staff rules live in ``shop.text`` (models use them too). One job per module:

- ``params``: request parameters parsed into ``SearchParams``.
- ``retrieval``: the full-text match and text score, filters, sort orders;
  ``postgres`` and ``sqlite``: total, facets and re-rank window of a query.
- ``facets``, ``rules`` (pin, boost, ban), ``cards`` (what a result shows).
- ``cache``: generations and the per-process level; ``matches``: the cached matches.
- ``ranking``: the personalized order of a page.
- ``spelling`` (did you mean), ``autocomplete``; ``synonyms``: staff synonyms applied
  to the query's words.
- ``service``: ``search_products``, which the views and the admin call.

Callers import from the module that holds what they need.
"""
