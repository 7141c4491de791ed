"""Staff dashboards inside the Django admin (its look, its sign-in): the shop's pages
(overview, search analytics, shopper inspector, experiments) and the building blocks the
recommender's pages share (charts, date ranges, navigation, permissions)."""
