"""bench._common.load_dataset: both layouts, detected by their files, and a clear refusal."""

import pytest

from bench._common import DatasetLayoutError, load_dataset, split_unisrec_text
from recommender.ml import Vocabulary, build_sequence_data, leave_last_out
from tests.recommender.ml.test_bench import write_dataset

INTER_HEADER = "user_id:token\titem_id_list:token_seq\titem_id:token\n"
TEXT = {
    "B01": "Red Nail Polish, 0.5 Oz. Bottle. Beauty Makeup Nails. OPI. ",
    "B02": "Blue Nail Polish. Beauty Makeup Nails. OPI. ",
    "B03": "Drill. . Bosch. ",
    "B04": "Spare part. Tools Parts. . ",
    "B05": "Never bought. Tools. Acme. ",
}


def write_unisrec(root, name="Tiny"):
    """Two users; B05 (index 4) is in no sequence; ids in the .inter files are indexes."""
    root.mkdir()
    (root / f"{name}.text").write_text(
        "item_id:token\ttext:token_seq\n" + "".join(f"{k}\t{v}\n" for k, v in TEXT.items())
    )
    (root / f"{name}.item2index").write_text("".join(f"{k}\t{i}\n" for i, k in enumerate(TEXT)))
    (root / f"{name}.user2index").write_text("AX\t0\nAY\t1\n")
    # User 1 first: the file's order is kept. The train/valid rows are prefixes.
    (root / f"{name}.train.inter").write_text(INTER_HEADER + "1\t3\t2\n0\t0\t1\n")
    (root / f"{name}.valid.inter").write_text(INTER_HEADER + "1\t3 2\t0\n0\t0 1\t2\n")
    (root / f"{name}.test.inter").write_text(INTER_HEADER + "1\t3 2 0\t1\n0\t0 1 2\t3\n")


def test_the_unisrec_layout_is_detected_and_read_as_the_users_full_sequences(tmp_path):
    write_unisrec(tmp_path / "tiny")
    raw = load_dataset(tmp_path / "tiny")
    assert raw.name == "tiny"
    assert raw.user_ids == [1, 1, 1, 1, 0, 0, 0, 0]
    assert raw.item_ids == [3, 2, 0, 1, 0, 1, 2, 3]
    # One day per position, so gaps are equal and the split keeps the file's order.
    assert raw.timestamps == [0.0, 86400.0, 172800.0, 259200.0] * 2
    assert raw.catalogue == [0, 1, 2, 3, 4]
    assert raw.titles[0] == "Red Nail Polish, 0.5 Oz. Bottle"
    assert raw.attributes[0] == ["Beauty Makeup Nails", "OPI"]
    assert raw.attributes[2] == ["Bosch"] and raw.attributes[3] == ["Tools Parts"]
    assert load_dataset(tmp_path / "tiny", "unisrec") == raw


def test_a_unisrec_dataset_splits_on_the_test_files_targets(tmp_path):
    write_unisrec(tmp_path / "tiny")
    raw = load_dataset(tmp_path / "tiny")
    vocab = Vocabulary(raw.catalogue)
    split = leave_last_out(
        build_sequence_data(raw.user_ids, raw.item_ids, raw.timestamps, None, vocab)
    )
    assert vocab.decode(split.test_targets) == [1, 3]  # the test rows' targets
    assert vocab.decode(split.val_targets) == [0, 2]  # the valid rows' targets


def test_without_an_item_index_the_text_keys_are_the_item_ids(tmp_path):
    write_unisrec(tmp_path / "tiny")
    (tmp_path / "tiny" / "Tiny.item2index").unlink()
    raw = load_dataset(tmp_path / "tiny")
    assert raw.catalogue == list(TEXT)
    assert raw.titles["B02"] == "Blue Nail Polish"


@pytest.mark.parametrize(
    ("text", "title", "attributes"),
    [
        (
            "24 Oz. Sprayer Bottles. Lab Bottles. Continental. ",
            "24 Oz. Sprayer Bottles",
            ["Lab Bottles", "Continental"],
        ),
        ("Clear Eyewear. . . ", "Clear Eyewear", []),
        ("Just a title", "Just a title", []),
        ("", "", []),
    ],
)
def test_unisrec_texts_split_into_title_category_and_brand(text, title, attributes):
    assert split_unisrec_text(text) == (title, attributes)


def test_the_amazon_beauty_layout_is_still_detected(tmp_path):
    write_dataset(tmp_path / "beauty")
    raw = load_dataset(tmp_path / "beauty")
    assert raw.timestamps is not None and len(raw.user_ids) == 60 * 7
    assert load_dataset(tmp_path / "beauty", "amazon_beauty") == raw


def test_a_folder_of_neither_layout_is_refused_naming_the_files_expected(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        DatasetLayoutError, match=r"sequences\.tsv.*NAME\.text and NAME\.test\.inter"
    ):
        load_dataset(tmp_path / "empty")
    with pytest.raises(DatasetLayoutError, match="no such folder"):
        load_dataset(tmp_path / "missing")
    write_dataset(tmp_path / "beauty")
    with pytest.raises(DatasetLayoutError, match=r"expected NAME\.text"):
        load_dataset(tmp_path / "beauty", "unisrec")
    with pytest.raises(ValueError, match="dataset format must be one of"):
        load_dataset(tmp_path / "beauty", "csv")
