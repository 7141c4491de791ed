"""Importers: good rows land, bad rows are reported with file/line/field, re-runs add nothing."""

import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from shop.events import writer
from shop.importers import import_event_rows
from shop.models import Brand, Category, Event, Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS_CSV = """sku,title,description,category,brand,price,currency,stock,active,attributes,image_url
A1,Red nail polish,Glossy,Beauty > Nails,OPI,9.50,eur,3,1,"{""color"": ""red""}",https://img.example/a1.jpg
A2,Blue nail polish,,Beauty > Nails,OPI,,,0,true,,
A3,Shampoo 口红 ✨,,Beauty > Hair,Dove,4,GBP,10,no,,
"""


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def run(command, *args, **options):
    """Run a management command; returns (exit ok, stderr text)."""

    err = io.StringIO()
    out = io.StringIO()
    try:
        call_command(command, *args, stdout=out, stderr=err, no_progress=True, **options)
        return True, out.getvalue(), err.getvalue()
    except CommandError as exc:
        return False, out.getvalue(), err.getvalue() + str(exc)


def test_products_csv_imports_every_column(tmp_path):
    ok, out, _ = run("import_products", str(write(tmp_path, "p.csv", PRODUCTS_CSV)))
    assert ok, out
    a1 = Product.objects.get(sku="A1")
    assert a1.title == "Red nail polish"
    assert a1.price == Decimal("9.50") and a1.currency == "EUR"
    assert a1.category.path == "Beauty > Nails" and a1.brand.name == "OPI"
    assert a1.attributes == {"color": "red"} and a1.stock == 3 and a1.is_active
    a2 = Product.objects.get(sku="A2")
    assert a2.price is None and a2.currency == ""
    a3 = Product.objects.get(sku="A3")
    assert a3.title == "Shampoo 口红 ✨" and not a3.is_active
    assert Category.objects.filter(name="Beauty").count() == 1
    assert Brand.objects.count() == 2


def test_products_rerun_updates_instead_of_duplicating(tmp_path):
    path = write(tmp_path, "p.csv", PRODUCTS_CSV)
    run("import_products", str(path))
    write(tmp_path, "p.csv", PRODUCTS_CSV.replace("Red nail polish", "Crimson nail polish"))
    ok, out, _ = run("import_products", str(path))
    assert ok
    assert Product.objects.count() == 3
    assert Product.objects.get(sku="A1").title == "Crimson nail polish"
    assert "3 updated" in out


def test_bad_product_rows_are_reported_and_valid_rows_still_land(tmp_path):
    text = (
        "sku,title,price,currency,stock,attributes,image_url\n"
        "G1,Good one,1.00,EUR,1,,\n"
        ",No sku,1,EUR,1,,\n"
        "B2,Bad price,abc,EUR,1,,\n"
        "B3,Negative price,-2,EUR,1,,\n"
        "B4,Price without currency,2,,1,,\n"
        "B5,Fractional stock,2,EUR,1.5,,\n"
        "B6,Bad json,2,EUR,1,{not json,\n"
        "B7,Bad url,2,EUR,1,,ftp://x\n"
        "G2,Good two,,,,,\n"
    )
    errors_file = tmp_path / "errors.csv"
    ok, _, err = run(
        "import_products", str(write(tmp_path, "p.csv", text)), errors=str(errors_file)
    )
    assert not ok
    assert set(Product.objects.values_list("sku", flat=True)) == {"G1", "G2"}
    assert "p.csv:3: sku: is required" in err
    assert "p.csv:4: price: 'abc' is not a number" in err
    assert "p.csv:5: price: -2 is negative" in err
    assert "p.csv:6: currency: is required when a price is given" in err
    assert "p.csv:7: stock:" in err
    assert "p.csv:8: attributes: not valid JSON" in err
    assert "p.csv:9: image_url: must be an http(s) URL" in err
    assert "7 row(s) failed" in err
    lines = errors_file.read_text().splitlines()
    assert lines[0] == "file,line,field,reason" and len(lines) == 8


def test_missing_required_columns_stop_the_import_with_a_clear_message(tmp_path):
    ok, _, err = run("import_products", str(write(tmp_path, "p.csv", "sku,price\nA,1\n")))
    assert not ok and "missing required column(s): title" in err
    assert Product.objects.count() == 0


def test_a_line_in_the_wrong_encoding_is_reported_and_the_rest_lands(tmp_path):
    text = "sku,title\nA1,Caf\xe9 latte\nA2,Plain\n".encode("latin-1")
    ok, _, err = run("import_products", str(write(tmp_path, "p.csv", text)))
    assert not ok
    assert "p.csv:2: (encoding): not valid UTF-8" in err
    assert list(Product.objects.values_list("sku", flat=True)) == ["A2"]


def test_products_from_json_lines(tmp_path):
    text = (
        json.dumps(
            {
                "sku": "J1",
                "title": "Json one",
                "price": 2,
                "currency": "USD",
                "attributes": {"a": 1},
            }
        )
        + "\n{broken\n"
        + json.dumps({"sku": "J2", "title": "Json two"})
        + "\n"
    )
    ok, _, err = run("import_products", str(write(tmp_path, "p.jsonl", text)))
    assert not ok and "p.jsonl:2: (row): not valid JSON" in err
    assert Product.objects.get(sku="J1").attributes == {"a": 1}
    assert Product.objects.filter(sku="J2").exists()


EVENTS_CSV = """event_id,user,session_id,sku,type,value,query,position,occurred_at,context
e1,alice,,S1,view,,,,2024-05-01T10:00:00Z,
e2,alice,,S1,purchase,2,,,2024-05-01T12:00:00+02:00,"{""channel"": ""app""}"
e3,,sess-9,S2,click,,red polish,3,1714560000,
e4,bob,,,search,,red polish,,2024-05-01 10:05:00,
e5,bob,,S2,rating,4,,,2024-05-02T00:00:00Z,
"""


def test_events_csv_imports_users_sessions_and_timestamps_in_utc(tmp_path):
    ProductFactory(sku="S1")
    ProductFactory(sku="S2")
    ok, out, err = run("import_events", str(write(tmp_path, "e.csv", EVENTS_CSV)), source="app")
    assert ok, err
    assert Event.objects.count() == 5
    purchase = Event.objects.get(client_event_id="e2")
    assert purchase.user.username == "alice" and purchase.value == 2
    assert purchase.occurred_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert purchase.context == {"channel": "app"} and purchase.source == "app"
    click = Event.objects.get(client_event_id="e3")
    assert click.user is None and click.session_id == "sess-9" and click.position == 3
    assert click.occurred_at == datetime(2024, 5, 1, 10, 40, tzinfo=UTC)
    search = Event.objects.get(client_event_id="e4")
    assert search.product is None and search.query == "red polish"
    # Refreshed by the import: alice counts once, by her purchase (5), aged 38 hours
    # at the end of the newest event's day (a 30-day half-life).
    assert Product.objects.get(sku="S1").popularity == pytest.approx(
        5 * 0.5 ** ((38 / 24) / 30), abs=1e-3
    )


def test_events_rerun_adds_nothing(tmp_path):
    ProductFactory(sku="S1")
    ProductFactory(sku="S2")
    path = write(tmp_path, "e.csv", EVENTS_CSV)
    run("import_events", str(path))
    ok, out, _ = run("import_events", str(path))
    assert ok
    assert Event.objects.count() == 5
    assert "0 created" in out and "5 duplicates skipped" in out


def test_events_without_ids_are_deduplicated_by_content(tmp_path):
    ProductFactory(sku="S1")
    text = "user,sku,type,occurred_at\nann,S1,view,2024-01-01T00:00:00Z\nann,S1,view,2024-01-01T00:00:00Z\nann,S1,view,2024-01-01T00:00:01Z\n"
    path = write(tmp_path, "e.csv", text)
    ok, out, _ = run("import_events", str(path))
    assert ok and Event.objects.count() == 2 and "1 duplicates skipped" in out
    run("import_events", str(path))
    assert Event.objects.count() == 2


def test_bad_event_rows_are_reported_with_line_and_field(tmp_path):
    ProductFactory(sku="S1")
    text = (
        "event_id,user,session_id,sku,type,value,query,occurred_at\n"
        "ok1,ann,,S1,view,,,2024-01-01T00:00:00Z\n"
        "b1,ann,,NOPE,view,,,2024-01-01T00:00:00Z\n"
        "b2,ann,,S1,teleport,,,2024-01-01T00:00:00Z\n"
        "b3,,,S1,view,,,2024-01-01T00:00:00Z\n"
        "b4,ann,,S1,view,,,yesterday\n"
        "b5,ann,,S1,view,,,2999-01-01T00:00:00Z\n"
        "b6,ann,,S1,rating,9,,2024-01-01T00:00:00Z\n"
        "b7,ann,,S1,purchase,lots,,2024-01-01T00:00:00Z\n"
        "b8,ann,,,view,,,2024-01-01T00:00:00Z\n"
        "b9,ann,,,search,,,2024-01-01T00:00:00Z\n"
        "ok2,ann,,S1,add_to_cart,1,,2024-01-01T00:00:01Z\n"
    )
    ok, _, err = run("import_events", str(write(tmp_path, "e.csv", text)))
    assert not ok
    assert set(Event.objects.values_list("client_event_id", flat=True)) == {"ok1", "ok2"}
    for expected in (
        "e.csv:3: sku: unknown product 'NOPE'",
        "e.csv:4: type: 'teleport' is not one of",
        "e.csv:5: user: either user or session_id is required",
        "e.csv:6: occurred_at: 'yesterday' is not a date",
        "e.csv:7: occurred_at: 2999-01-01T00:00:00Z is in the future",
        "e.csv:8: value: a rating needs a value from 1 to 5",
        "e.csv:9: value: 'lots' is not a number",
        "e.csv:10: sku: is required for view events",
        "e.csv:11: query: is required for search events",
    ):
        assert expected in err
    assert "9 row(s) failed" in err


def test_naive_timestamps_use_the_given_time_zone(tmp_path):
    ProductFactory(sku="S1")
    text = "user,sku,type,occurred_at\nann,S1,view,2024-07-01 12:00:00\n"
    ok, _, _ = run("import_events", str(write(tmp_path, "e.csv", text)), timezone="Europe/London")
    assert ok
    assert Event.objects.get().occurred_at == datetime(2024, 7, 1, 11, 0, tzinfo=UTC)


def test_unknown_time_zone_is_refused(tmp_path):
    ok, _, err = run(
        "import_events", str(write(tmp_path, "e.csv", "type,occurred_at\n")), timezone="Mars/Base"
    )
    assert not ok and "unknown time zone" in err


def view_rows(count: int, *, prefix: str, users: int) -> list[tuple[int, dict]]:
    """(line, row) pairs of ``count`` views of product S1, one a second, by ``users`` shoppers."""
    return [
        (
            n + 2,
            {
                "event_id": f"{prefix}{n}",
                "user": f"u{n % users}",
                "sku": "S1",
                "type": "view",
                "occurred_at": f"{1700000000 + n}",
            },
        )
        for n in range(count)
    ]


def test_missing_file_is_a_clear_error(tmp_path):
    ok, _, err = run("import_events", str(tmp_path / "nope.csv"))
    assert not ok and "no such file" in err


def test_batches_larger_than_one_write_keep_every_row(tmp_path):
    ProductFactory(sku="S1")
    rows = view_rows(1234, prefix="x", users=7)
    report = import_event_rows(iter(rows), file_name="gen", on_error=lambda e: None, batch_size=100)
    assert report.created == 1234 and report.failed == 0
    assert Event.objects.count() == 1234


# ----------------------------------------------------------------------- datasets


def make_beauty_dir(tmp_path):
    d = tmp_path / "beauty"
    d.mkdir(parents=True)
    (d / "items.tsv").write_text(
        "item_id\tasin\ttitle\tattribute_ids\n1\tB1\tOPI Red\t1 2\n2\tB2\t\t3\n3\tB3\t"
        + "x" * 600
        + "\t\n"
    )
    (d / "sequences.tsv").write_text(
        "user_id\treviewer_id\titem_ids_chronological\n1\tR1\t2 1 3\n2\tR2\t1 2\n"
    )
    (d / "interactions.tsv").write_text(
        "user_id\titem_id\tasin\ttimestamp\n"
        "1\t2\tB2\t1318896000\n1\t1\tB1\t1318896000\n1\t3\tB3\t1318896000\n"
        "2\t1\tB1\t1318896000\n2\t2\tB2\t1400000000\n"
    )
    return d


def test_amazon_beauty_import_keeps_the_order_within_a_day(tmp_path):
    ok, out, err = run("import_dataset", "amazon-beauty", str(make_beauty_dir(tmp_path)))
    assert ok, err
    assert Product.objects.count() == 3
    assert Product.objects.get(sku="B2").title == "Item B2"  # no title in the data
    assert len(Product.objects.get(sku="B3").title) == 500
    assert Product.objects.get(sku="B1").attributes["attribute_ids"] == [1, 2]
    history = list(
        Event.objects.filter(user__username="amz-R1")
        .order_by("occurred_at", "id")
        .values_list("product__sku", flat=True)
    )
    assert history == ["B2", "B1", "B3"]
    assert Event.objects.filter(event_type="purchase").count() == 5
    ok, out, _ = run("import_dataset", "amazon-beauty", str(make_beauty_dir(tmp_path / "again")))
    assert Event.objects.count() == 5  # idempotent


def test_amazon_beauty_refuses_a_folder_in_another_format(tmp_path):
    ok, _, err = run("import_dataset", "amazon-beauty", str(tmp_path))
    assert not ok and "items.tsv is missing" in err


def test_online_retail_import(tmp_path):
    text = (
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "573415,21166,COOK WITH WINE METAL SIGN ,2,2011-10-30 16:17:00,2.08,13607.0,United Kingdom\n"
        "573416,21166,COOK WITH WINE METAL SIGN ,1,2011-07-01 09:00:00,2.10,,France\n"
        "C573417,21166,COOK WITH WINE METAL SIGN ,-1,2011-10-31 10:00:00,2.08,13607.0,United Kingdom\n"
        "573418,22516,CHILDS GARDEN RAKE BLUE,x,2011-05-13 14:58:00,2.1,17841.0,United Kingdom\n"
    )
    ok, out, err = run("import_dataset", "online-retail", str(write(tmp_path, "retail.csv", text)))
    assert not ok and "retail.csv:5: value: 'x' is not a number" in err
    sign = Product.objects.get(sku="21166")
    assert sign.title == "Cook With Wine Metal Sign" and sign.currency == "GBP"
    assert "1 cancellations skipped" in out
    bought = Event.objects.get(user__username="retail-13607")
    assert bought.value == 2
    assert bought.occurred_at == datetime(2011, 10, 30, 16, 17, tzinfo=UTC)  # GMT in October
    summer = Event.objects.get(session_id="invoice-573416")
    assert summer.occurred_at == datetime(2011, 7, 1, 8, 0, tzinfo=UTC)  # BST in July


def test_load_demo_is_idempotent():
    ok, out, err = run("load_demo")
    assert ok, err
    products, events = Product.objects.count(), Event.objects.count()
    assert products > 5000 and events > 20000
    ok, _, _ = run("load_demo")
    assert (Product.objects.count(), Event.objects.count()) == (products, events)


@pytest.mark.django_db(transaction=True)
def test_import_outside_a_transaction_keeps_every_row_and_stays_idempotent():
    """Outside an outer transaction, Postgres writes batches from a background thread."""
    ProductFactory(sku="S1")
    rows = view_rows(3000, prefix="t", users=50)
    first = import_event_rows(iter(rows), file_name="gen", on_error=lambda e: None, batch_size=400)
    again = import_event_rows(iter(rows), file_name="gen", on_error=lambda e: None, batch_size=400)
    assert (first.created, first.duplicates) == (3000, 0)
    assert (again.created, again.duplicates) == (0, 3000)
    assert Event.objects.count() == 3000
    assert 49 < Product.objects.get(sku="S1").popularity <= 50  # 50 shoppers, not 3,000 views


def test_a_key_stored_by_a_concurrent_writer_falls_back_to_on_conflict(monkeypatch):
    """Postgres: if a key appears between the lookup and the COPY, nothing is lost or doubled."""
    if connection.vendor != "postgresql":
        pytest.skip("the COPY path is Postgres-only")
    ProductFactory(sku="S1")
    rows = [
        (
            n + 2,
            {
                "event_id": f"r{n}",
                "user": "racer",
                "sku": "S1",
                "type": "view",
                "occurred_at": f"{1700000000 + n}",
            },
        )
        for n in range(10)
    ]
    import_event_rows(iter(rows[:4]), file_name="gen", on_error=lambda e: None)
    monkeypatch.setattr(
        writer, "_stored_keys_postgres", lambda cursor, rows: set()
    )  # the lookup misses them
    report = import_event_rows(iter(rows), file_name="gen", on_error=lambda e: None)
    assert (report.created, report.duplicates) == (6, 4)
    assert Event.objects.count() == 10
