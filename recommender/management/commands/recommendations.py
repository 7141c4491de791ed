from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from recommender.personalizer import RecommenderPersonalizer
from shop.experiments.serving import exposures_paused
from shop.models import Product
from shop.shoppers import Shopper


class Command(BaseCommand):
    help = "Print a shopper's recommendations: rank, product id, title, score, reason."

    def add_arguments(self, parser):
        parser.add_argument("user", help="user id or username")
        parser.add_argument("--limit", type=int, default=10)

    def handle(self, *args, **options):
        User = get_user_model()
        key = options["user"]
        user = User.objects.filter(pk=int(key)).first() if key.isdigit() else None
        user = user or User.objects.filter(username=key).first()
        if user is None:
            raise CommandError(f"no user with id or username {key!r}")
        with exposures_paused():  # a command is not the shopper seeing their arm
            items = RecommenderPersonalizer().recommend(
                shopper=Shopper(user_id=user.pk), limit=options["limit"]
            )
        titles = dict(
            Product.objects.filter(pk__in=[i.product_id for i in items]).values_list("pk", "title")
        )
        for rank, item in enumerate(items, start=1):
            self.stdout.write(
                f"{rank}\t{item.product_id}\t{titles.get(item.product_id, '?')[:70]}\t{item.score:.4f}\t{item.reason}"
            )
