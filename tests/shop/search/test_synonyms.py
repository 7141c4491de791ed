"""Staff synonyms: a query's word (or phrase) also finds, or finds instead, what its
alternatives find, on both databases, as soon as the synonym is saved."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from shop.models import Synonym, SynonymKind
from shop.search.synonyms import synonym_add, term_groups
from tests.shop.search.helpers import run, titles

pytestmark = pytest.mark.django_db

ROLLS = {"80 grit sanding roll", "120 grit sanding roll"}


def test_a_zero_result_query_finds_products_once_its_synonym_exists(tools):
    assert run("abrasive").total == 0  # and that answer is now cached

    Synonym.objects.create(term="abrasive", alternatives="sanding roll")

    assert set(titles(run("abrasive"))) == ROLLS


def test_an_expanding_synonym_keeps_what_the_term_itself_finds(tools):
    Synonym.objects.create(term="tape", alternatives="gloves")

    assert set(titles(run("tape"))) == {"Masking tape", "Nitrile gloves"}


def test_a_replacing_synonym_searches_only_its_alternatives(tools):
    Synonym.objects.create(term="tape", alternatives="gloves", kind=SynonymKind.REPLACE)

    assert titles(run("tape")) == ["Nitrile gloves"]


def test_any_alternative_will_do_and_the_other_words_still_must_match(tools):
    Synonym.objects.create(term="sticky paper", alternatives="masking, grit")

    assert set(titles(run("sticky paper"))) == {"Masking tape", *ROLLS}
    assert titles(run("scotch sticky paper")) == ["Masking tape"]
    assert run("sticky").total == 0  # the phrase, not each of its words


def test_deleting_or_deactivating_a_synonym_applies_at_once(tools):
    synonym = Synonym.objects.create(term="abrasive", alternatives="grit")
    assert run("abrasive").total == 2

    synonym.is_active = False
    synonym.save()
    assert run("abrasive").total == 0

    synonym.is_active = True
    synonym.save()
    assert run("abrasive").total == 2
    synonym.delete()
    assert run("abrasive").total == 0


def test_term_and_alternatives_are_stored_normalized():
    synonym = Synonym.objects.create(
        term="  Sand-Paper ", alternatives=" Sanding Roll, , sanding roll, sand paper, GRIT"
    )

    assert synonym.term == "sand paper"
    assert synonym.alternatives == "sanding roll, grit"
    assert synonym.alternative_list == ["sanding roll", "grit"]


def test_the_longest_synonym_term_wins_from_the_left():
    Synonym.objects.create(term="sand", alternatives="grit")
    Synonym.objects.create(term="sand paper", alternatives="abrasive sheet")

    assert term_groups(["fine", "sand", "paper"]) == [
        (("fine",),),
        (("sand", "paper"), ("abrasive", "sheet")),
    ]
    assert term_groups(["sand"]) == [(("sand",), ("grit",))]


@pytest.mark.parametrize(
    "term, alternatives, field",
    [
        ("!!", "tape", "term"),
        ("one two three four five", "tape", "term"),
        ("tape", " , tape", "alternatives"),
    ],
)
def test_a_synonym_needs_a_term_of_few_words_and_another_alternative(term, alternatives, field):
    with pytest.raises(ValidationError) as error:
        synonym_add(term=term, alternatives=alternatives)

    assert field in error.value.message_dict


def test_a_term_has_one_synonym_whatever_its_spelling():
    synonym_add(term="Lipstik", alternatives="lipstick")

    with pytest.raises(ValidationError) as error:
        synonym_add(term="LIPSTIK!", alternatives="lip stick")

    assert "term" in error.value.message_dict


def test_staff_write_synonyms_in_the_admin_from_a_prefilled_form(admin_client, tools):
    add_url = reverse("admin:shop_synonym_add")

    form = admin_client.get(add_url, {"term": "abrasive"})
    response = admin_client.post(
        add_url, {"term": "Abrasive", "kind": "expand", "alternatives": "grit", "is_active": "on"}
    )

    assert 'value="abrasive"' in form.content.decode()
    assert response.status_code == 302
    assert Synonym.objects.get().term == "abrasive"
    assert set(titles(run("abrasive"))) == ROLLS
    listing = admin_client.get(reverse("admin:shop_synonym_changelist")).content.decode()
    assert "explain “abrasive”" in listing
