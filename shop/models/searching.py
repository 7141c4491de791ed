"""Search vocabulary (staff synonyms) and the search analytics rollups.

Rollups are written by shop.analytics (``@rollup("search_queries")``) from the event log
and read by the search dashboard: one row per day and searched (or clicked) query, and
one per day and result position, so that a page over a year reads rollup rows, never
the events.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from shop.text import normalize_query

__all__ = [
    "SearchPositionDay",
    "SearchQueryDay",
    "Synonym",
    "SYNONYM_TERM_MAX_WORDS",
    "SynonymKind",
    "synonym_alternatives_parse",
]

ALTERNATIVES_SEPARATOR = ","
# A synonym's term is looked for as a run of at most this many of a query's words.
SYNONYM_TERM_MAX_WORDS = 4


class SynonymKind(models.TextChoices):
    EXPAND = "expand", "also find the alternatives"
    REPLACE = "replace", "find the alternatives instead"


def synonym_alternatives_parse(text: str, *, term: str = "") -> list[str]:
    """The normalized, distinct words or phrases of a comma-separated list, without
    empty ones or ``term`` itself."""
    seen: dict[str, None] = {}
    for part in (text or "").split(ALTERNATIVES_SEPARATOR):
        phrase = normalize_query(part)
        if phrase and phrase != term:
            seen[phrase] = None
    return list(seen)


class Synonym(models.Model):
    """A staff synonym: searching ``term`` (a word or phrase) also finds, or instead
    finds, what its alternatives find. A fix for queries without results that a pin
    cannot give (a shopper's word the catalogue never uses: "sneakers" for "trainers",
    a common misspelling).

    ``term`` and each alternative are stored normalized like the query key of staff
    rules (``shop.text.normalize_query``: lower-case words joined by single spaces).
    Saving or deleting one starts a new generation of cached search results.
    """

    term = models.CharField(
        max_length=200,
        unique=True,
        help_text="A word or phrase as shoppers type it; stored lower-cased, words only.",
    )
    alternatives = models.CharField(
        max_length=500,
        help_text="Words or phrases, separated by commas, that the term finds.",
    )
    kind = models.CharField(max_length=8, choices=SynonymKind.choices, default=SynonymKind.EXPAND)
    is_active = models.BooleanField("active", default=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["term"]
        constraints = [
            models.CheckConstraint(condition=~Q(term=""), name="synonym_term_not_empty"),
            models.CheckConstraint(
                condition=~Q(alternatives=""), name="synonym_alternatives_not_empty"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in SynonymKind]), name="synonym_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        arrow = "→" if self.kind == SynonymKind.REPLACE else "+"
        return f"{self.term} {arrow} {self.alternatives}"

    def save(self, *args, **kwargs):
        self.term = normalize_query(self.term)[:200]
        self.alternatives = f"{ALTERNATIVES_SEPARATOR} ".join(
            synonym_alternatives_parse(self.alternatives, term=self.term)
        )[:500]
        super().save(*args, **kwargs)

    @property
    def alternative_list(self) -> list[str]:
        return synonym_alternatives_parse(self.alternatives, term=self.term)

    def clean(self) -> None:
        # Normalized before the unique check, which compares the stored (normalized) terms.
        term = self.term = normalize_query(self.term)
        if not term:
            raise ValidationError({"term": "The term needs at least one letter or digit."})
        if len(term.split()) > SYNONYM_TERM_MAX_WORDS:
            raise ValidationError(
                {"term": f"A term of at most {SYNONYM_TERM_MAX_WORDS} words is looked for."}
            )
        if not synonym_alternatives_parse(self.alternatives, term=term):
            raise ValidationError(
                {"alternatives": "Give at least one word or phrase other than the term."}
            )


class SearchQueryDay(models.Model):
    """Per day and query (normalized like staff rules' key; a query of no words keeps
    its lower-cased text): the searches, those without results, the clicks naming the
    query, and the same split by the order the search page was in.

    ``personalized_*`` and ``lexical_*`` count the searches logged with
    ``context.personalized`` true or false (older events have neither), and the clicks
    with a position whose ``context.search_event_id`` names such a search (the
    storefront's result links and the app send it). A row exists only for a query
    searched or clicked that day.
    """

    day = models.DateField()
    query = models.CharField(max_length=500)
    searches = models.PositiveIntegerField(default=0)
    zero_result_searches = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0, help_text="Clicks that named this query.")
    positioned_clicks = models.PositiveIntegerField(
        default=0, help_text="Of the clicks, those with a position."
    )
    position_sum = models.PositiveBigIntegerField(default=0)
    personalized_searches = models.PositiveIntegerField(default=0)
    personalized_clicks = models.PositiveIntegerField(default=0)
    personalized_position_sum = models.PositiveBigIntegerField(default=0)
    lexical_searches = models.PositiveIntegerField(default=0)
    lexical_clicks = models.PositiveIntegerField(default=0)
    lexical_position_sum = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            # Also the index every dashboard read uses (a day range, then the queries).
            models.UniqueConstraint(fields=["day", "query"], name="search_query_day_unique"),
        ]

    def __str__(self) -> str:
        return f"“{self.query}” on {self.day}: {self.searches} searches, {self.clicks} clicks"


class SearchPositionDay(models.Model):
    """Per day and result position 1..20: impressions (logged searches whose first page
    showed a product there) and clicks on that position, in all and split by order."""

    day = models.DateField()
    position = models.PositiveSmallIntegerField()
    impressions = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    personalized_impressions = models.PositiveIntegerField(default=0)
    personalized_clicks = models.PositiveIntegerField(default=0)
    lexical_impressions = models.PositiveIntegerField(default=0)
    lexical_clicks = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "position"], name="search_position_day_unique"),
            models.CheckConstraint(condition=Q(position__gte=1), name="search_position_positive"),
        ]

    def __str__(self) -> str:
        return f"position {self.position} on {self.day}: {self.clicks}/{self.impressions}"
