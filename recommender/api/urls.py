"""Staff endpoints of the recommender, under /api/v1/staff/."""

urlpatterns: list = []
