"""The recommender's staff dashboards: model versions side by side, live training and
refreshes, the learned search blend (built on shop.dashboards' charts and pages)."""
