import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from shop.models import Brand, Category, Event, EventType, Product


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"shopper{n}")
    password = factory.django.Password("pass-word-123")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    title = factory.Sequence(lambda n: f"Product {n}")
    category = factory.SubFactory(CategoryFactory)
    brand = factory.SubFactory(BrandFactory)
    price = "9.99"
    currency = "EUR"
    stock = 5


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    user = factory.SubFactory(UserFactory)
    product = factory.SubFactory(ProductFactory)
    event_type = EventType.VIEW
    client_event_id = factory.Sequence(lambda n: f"evt-{n}")
    occurred_at = factory.LazyFunction(timezone.now)


def products_from_rows(columns: str, rows: dict[str, tuple], **common) -> dict[str, Product]:
    """Products by name, each row giving the values of ``columns`` (space-separated field
    names); ``common`` fields go to every product."""
    fields = columns.split()
    return {
        name: ProductFactory(**common, **dict(zip(fields, values, strict=True)))
        for name, values in rows.items()
    }


def category_tree(*paths: str) -> dict[str, Category]:
    """Categories by lower-case name, from paths such as ``"Beauty > Lipstick"`` (a parent
    named in several paths is made once); each slug is the lower-case name."""
    made: dict[str, Category] = {}
    for path in paths:
        parent = None
        for name in path.split(" > "):
            slug = name.lower()
            if slug not in made:
                made[slug] = Category.objects.create(name=name, slug=slug, parent=parent)
            parent = made[slug]
    return made
