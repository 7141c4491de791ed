"""bench.double_catalogue: twice the users, items and events, in the layout load_dataset reads."""

import pytest

from bench._common import load_dataset
from bench.double_catalogue import double, main
from tests.recommender.ml.test_bench import write_dataset


def test_the_doubled_catalogue_holds_every_row_twice_with_disjoint_ids(tmp_path):
    write_dataset(tmp_path / "tiny")
    counts = double(tmp_path / "tiny", tmp_path / "x2")
    raw, twice = load_dataset(tmp_path / "tiny"), load_dataset(tmp_path / "x2")
    assert len(twice.catalogue) == 2 * len(raw.catalogue) == counts["items.tsv"]
    assert len(twice.user_ids) == 2 * len(raw.user_ids)
    assert len(set(twice.user_ids)) == 2 * len(set(raw.user_ids))
    shift = max(raw.catalogue)
    # The copy of each user's sequence is the same sequence of shifted items, same times.
    half = len(raw.user_ids)
    assert twice.item_ids[:half] == raw.item_ids
    assert twice.item_ids[half:] == [item + shift for item in raw.item_ids]
    assert list(twice.timestamps[half:]) == list(raw.timestamps)
    assert twice.titles[raw.catalogue[2] + shift] == raw.titles[raw.catalogue[2]]
    assert twice.attributes[raw.catalogue[2] + shift] == raw.attributes[raw.catalogue[2]]
    assert twice.titles[raw.catalogue[0] + shift] == ""  # an empty title stays empty


def test_a_folder_of_another_layout_is_refused(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match="not the amazon_beauty layout"):
        main(["--data", str(tmp_path / "empty"), "--out", str(tmp_path / "x2")])
    assert not (tmp_path / "x2").exists()


def test_a_row_it_cannot_read_is_named_and_nothing_is_written(tmp_path):
    write_dataset(tmp_path / "tiny")
    sequences = tmp_path / "tiny" / "sequences.tsv"
    lines = sequences.read_text().splitlines()
    lines[3] = lines[3].replace("\t", "\tR\t", 1).split("\t", 1)[0] + "\tRx\t1 two 3"
    sequences.write_text("\n".join(lines) + "\n")
    with pytest.raises(SystemExit, match=r"sequences.tsv, line 4: cannot read .*'two'"):
        double(tmp_path / "tiny", tmp_path / "x2")
    assert not (tmp_path / "x2").exists()
