"""The explain mode of a search, for staff: a query's results as one shopper gets them,
each score component in its own labelled column, and where each product would stand
without personalization.

Shared by the admin's explain view (shop.admin.search) and the shopper inspector
(shop.dashboards.inspector). Nothing is logged: staff's searches are not shoppers'.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shop.personalization import get_personalizer
from shop.search.params import SearchInputError, SearchParams
from shop.search.service import SearchHit, SearchResult, search_products
from shop.shoppers import Shopper

EXPLAIN_RESULTS = 50
RAW_PREFIX = "x_"  # a component "x_<name>" is the raw value of the feature <name>
RULES = "rules"
RULES_LABEL = (
    "Rules",
    "Staff search rules: a boost adds its weight to the score; pins come first whatever "
    "their score.",
)


@dataclass(frozen=True)
class ExplainColumn:
    name: str  # the component's internal name
    label: str
    description: str


@dataclass(frozen=True)
class ExplainRow:
    position: int  # 1-based
    hit: SearchHit
    # Per column: (the component's value, the feature's raw value or None).
    values: list[tuple[float | None, float | None]]
    # Where the product stands in the non-personalized order (None: past the shown ones).
    unpersonalized_position: int | None

    @property
    def moved(self) -> bool:
        return self.unpersonalized_position != self.position


@dataclass
class Explained:
    query: str
    shopper: Shopper | None  # None: nobody chosen (an anonymous visitor without history)
    result: SearchResult | None = None
    columns: list[ExplainColumn] = field(default_factory=list)
    rows: list[ExplainRow] = field(default_factory=list)
    # How the order came about, in a sentence for staff.
    order: str = ""
    error: str = ""

    @property
    def moved(self) -> int:
        return sum(row.moved for row in self.rows)


def search_explain(
    *, query: str, shopper: Shopper | None, limit: int = EXPLAIN_RESULTS
) -> Explained:
    """The first ``limit`` results of ``query`` for ``shopper`` (opt-out included: build
    it with ``shop.shoppers.shopper_for``), with their score components, beside the
    order without personalization; ``error`` says what is wrong with the query."""
    explained = Explained(query=query, shopper=shopper)
    try:
        params = SearchParams.from_mapping({"q": query, "page_size": str(limit)})
        result = search_products(params=params, shopper=shopper or Shopper())
        plain = search_products(params=params, shopper=Shopper(personalize=False))
    except SearchInputError as error:
        explained.error = f"{error.field}: {error.reason}"
        return explained
    plain_positions = {hit.product.pk: n for n, hit in enumerate(plain.hits, start=1)}
    explained.result = result
    explained.columns = explain_columns(result.hits)
    explained.rows = [
        ExplainRow(
            position=n,
            hit=hit,
            values=[
                (hit.components.get(c.name), hit.components.get(RAW_PREFIX + c.name))
                for c in explained.columns
            ],
            unpersonalized_position=plain_positions.get(hit.product.pk),
        )
        for n, hit in enumerate(result.hits, start=1)
    ]
    explained.order = _order_sentence(explained)
    return explained


def explain_columns(hits: list[SearchHit]) -> list[ExplainColumn]:
    """One column per score component found in the hits, in the order the personalizer
    labels them, then any it does not label, then the rules; a raw feature (``x_name``)
    goes under its component's column, unless it has none."""
    labels = dict(get_personalizer().component_labels)
    labels[RULES] = RULES_LABEL
    found: dict[str, None] = {}
    for hit in hits:
        found.update(dict.fromkeys(hit.components))
    names = [
        n for n in found if not (n.startswith(RAW_PREFIX) and n.removeprefix(RAW_PREFIX) in found)
    ]
    order = {name: n for n, name in enumerate(labels)}
    names.sort(key=lambda n: (n == RULES, order.get(n, len(order))))
    return [ExplainColumn(n, *labels.get(n, _unlabelled(n))) for n in names]


def _unlabelled(name: str) -> tuple[str, str]:
    return name.replace("_", " "), "A component the personalizer adds (it gives no description)."


def _order_sentence(explained: Explained) -> str:
    result, shopper = explained.result, explained.shopper
    if not result.hits:
        return "No results."
    if not result.personalized:
        return "Database order: these results are not re-ranked."
    if shopper is None or (shopper.user_id is None and not shopper.session_id):
        return (
            "No shopper given: the non-personalized order (text match and popularity) that "
            "an anonymous visitor without history gets."
        )
    if not shopper.personalize:
        return (
            "This shopper opted out of personalization: they get the non-personalized "
            "order (text match and popularity)."
        )
    if not explained.moved:
        return (
            f"Ranked by the personalizer “{get_personalizer().name}” for this shopper, but "
            "in the non-personalized order: nothing it knows about them moves these results."
        )
    return (
        f"Personalized order for this shopper (personalizer “{get_personalizer().name}”): "
        f"{explained.moved} of the {len(explained.rows)} shown stand elsewhere than in the "
        "non-personalized order (column “Unpers. #”)."
    )
