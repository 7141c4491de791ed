"""Rebuild the demo subset from ../shared/datasets/amazon_beauty (a maintainer's tool).

    python data/demo/build_demo.py ../shared/datasets/amazon_beauty data/demo

Keeps USERS randomly chosen shoppers (seeded) with their whole histories, in the
benchmark's order, and every item they touched, re-indexed from 1. Writes the same
three files as the benchmark, plus item_details.tsv: a brand and a category for each
item, derived from the real title (brand: the title's first word(s) when they are
shared by most items of one of the dataset's unnamed brand attributes; category: a
keyword rule over the title). Prices are unknown in this dataset and stay empty.
"""

import collections
import csv
import random
import re
import sys
from pathlib import Path

USERS = 3000
SEED = 7
CATEGORY_RULES = [
    ("Makeup > Nails", r"\bnail|polish|lacquer|manicure|cuticle"),
    ("Makeup > Eyes", r"mascara|eyeliner|eye ?liner|eye ?shadow|\bbrow|\blash|eye pencil"),
    ("Makeup > Lips", r"lipstick|lip gloss|\blip|lips\b"),
    (
        "Makeup > Face",
        r"foundation|concealer|powder|blush|bronzer|primer|highlighter|bb cream|cc cream",
    ),
    (
        "Tools & Accessories",
        r"brush|dryer|flat iron|curling|curler|tweezer|clipper|razor|comb|mirror|sponge|trimmer|straightener",
    ),
    ("Hair Care", r"shampoo|conditioner|\bhair|scalp|styling|gel\b|mousse"),
    ("Fragrance", r"eau de|perfume|cologne|fragrance|parfum|\bedt\b|\bedp\b"),
    (
        "Bath & Body",
        r"body wash|soap|\bbath|shower|deodorant|body lotion|body butter|hand cream|scrub",
    ),
    (
        "Skin Care",
        r"cream|serum|moistur|cleanser|lotion|face wash|mask|spf|sunscreen|toner|anti-aging|wrinkle|acne|eye gel",
    ),
]


# Leading words that describe a product, not a maker.
GENERIC_WORDS = {
    "nail",
    "color",
    "china",
    "fake",
    "new",
    "professional",
    "hair",
    "the",
    "pro",
    "natural",
}


def category_for(title: str) -> str:
    lowered = title.lower()
    for name, pattern in CATEGORY_RULES:
        if re.search(pattern, lowered):
            return name
    return "Other Beauty"


def brands_by_attribute(items: list[dict]) -> dict[str, str]:
    """Attribute id -> brand name, for attributes whose items mostly share a first word."""
    by_attribute = collections.defaultdict(list)
    for item in items:
        for attribute in item["attribute_ids"].split():
            by_attribute[attribute].append(item["title"])
    names = {}
    for attribute, titles in by_attribute.items():
        words = [t.split(" ") for t in titles if t]
        name = []
        # The longest run of leading words (up to 3) that most titles share.
        for position in range(3):
            counts = collections.Counter(
                w[position].strip(",-") for w in words if len(w) > position and w[:position] == name
            )
            if not counts:
                break
            word, count = counts.most_common(1)[0]
            if len(titles) < 3 or count / len(titles) < 0.6 or len(word) < 2:
                break
            name.append(word)
        if name and name[0].lower() not in GENERIC_WORDS:
            names[attribute] = " ".join(name)
    return names


def main(source: Path, target: Path) -> None:
    items = list(csv.DictReader((source / "items.tsv").open(encoding="utf-8"), delimiter="\t"))
    brand_names = brands_by_attribute(items)
    sequences = list(
        csv.DictReader((source / "sequences.tsv").open(encoding="utf-8"), delimiter="\t")
    )
    chosen = sorted(random.Random(SEED).sample(range(len(sequences)), USERS))
    users = [sequences[i] for i in chosen]
    user_ids = {u["user_id"]: str(n) for n, u in enumerate(users, start=1)}
    item_ids: dict[str, str] = {}
    for user in users:
        for item in user["item_ids_chronological"].split():
            item_ids.setdefault(item, str(len(item_ids) + 1))
    by_id = {i["item_id"]: i for i in items}
    target.mkdir(parents=True, exist_ok=True)
    with (
        (target / "items.tsv").open("w", encoding="utf-8", newline="") as out,
        (target / "item_details.tsv").open("w", encoding="utf-8", newline="") as details,
    ):
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        detail_writer = csv.writer(details, delimiter="\t", lineterminator="\n")
        writer.writerow(["item_id", "asin", "title", "attribute_ids"])
        detail_writer.writerow(["asin", "brand", "category"])
        for old, new in item_ids.items():
            item = by_id[old]
            writer.writerow([new, item["asin"], item["title"], item["attribute_ids"]])
            brands = sorted(
                (a for a in item["attribute_ids"].split() if a in brand_names),
                key=lambda a: (not item["title"].startswith(brand_names[a]), a),
            )
            brand = brand_names[brands[0]] if brands else ""
            detail_writer.writerow([item["asin"], brand, category_for(item["title"])])
    with (
        (source / "interactions.tsv").open(encoding="utf-8") as handle,
        (target / "interactions.tsv").open("w", encoding="utf-8", newline="") as out,
    ):
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["user_id", "item_id", "asin", "timestamp"])
        for row in csv.DictReader(handle, delimiter="\t"):
            if row["user_id"] in user_ids:
                writer.writerow(
                    [
                        user_ids[row["user_id"]],
                        item_ids[row["item_id"]],
                        row["asin"],
                        row["timestamp"],
                    ]
                )
    with (target / "sequences.tsv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t", lineterminator="\n")
        writer.writerow(["user_id", "reviewer_id", "item_ids_chronological"])
        for user in users:
            items_new = " ".join(item_ids[i] for i in user["item_ids_chronological"].split())
            writer.writerow([user_ids[user["user_id"]], user["reviewer_id"], items_new])
    print(f"{len(users)} users, {len(item_ids)} items written to {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
