"""The quick benchmark end to end, on a tiny dataset in the amazon_beauty format."""

import json

from bench.offline_recs import main
from tests.recommender.ml.conftest import catalogue, rule_rows


def write_dataset(root):
    users, items, times, _ = rule_rows(n_users=60, length=7, seed=3)
    ids, titles, attrs = catalogue()
    titles[ids[0]] = ""  # items without titles must work
    titles[ids[1]] = ""
    root.mkdir()
    with (root / "items.tsv").open("w") as fh:
        fh.write("item_id\tasin\ttitle\tattribute_ids\n")
        for i in ids:
            fh.write(f"{i}\tA{i}\t{titles[i]}\t{' '.join(attrs[i])}\n")
    seqs = {}
    with (root / "interactions.tsv").open("w") as fh:
        fh.write("user_id\titem_id\tasin\ttimestamp\n")
        for u, i, t in zip(users, items, times, strict=True):
            uid = int(u[1:]) + 1
            seqs.setdefault(uid, []).append(i)
            fh.write(f"{uid}\t{i}\tA{i}\t{t}\n")
    # sequences.tsv lists users in a non-sorted order; that order must be kept.
    with (root / "sequences.tsv").open("w") as fh:
        fh.write("user_id\treviewer_id\titem_ids_chronological\n")
        for uid in sorted(seqs, reverse=True):
            fh.write(f"{uid}\tR{uid}\t{' '.join(map(str, seqs[uid]))}\n")


def test_quick_benchmark_end_to_end(tmp_path, capsys):
    data = tmp_path / "tiny"
    write_dataset(data)
    out = tmp_path / "out.json"
    assert main(["--data", str(data), "--json", str(out), "--quick"]) == 0
    report = json.loads(out.read_text())
    assert report["dataset"] == "tiny" and report["protocol"] == "full"
    names = [r["model"] for r in report["results"]]
    assert {
        "popularity",
        "recent_popularity",
        "item_transitions",
        "title_tfidf",
        "sasrec_fused",
    } <= set(names)
    for r in report["results"]:
        assert r["kind"] in ("transformer", "baseline")
        for key in (
            "hr@10",
            "ndcg@10",
            "hr@20",
            "ndcg@20",
            "mrr",
            "coverage@10",
            "train_seconds",
            "device",
        ):
            assert key in r
        assert set(r["segments"]) == {"cold", "warm", "hot"}
        assert {"hr@10", "ndcg@10"} <= set(r["no_exclusion"])
        assert 0 <= r["ndcg@10"] <= r["hr@10"] <= 1
    sas = next(r for r in report["results"] if r["model"] == "sasrec_fused")
    assert sas["topk_all_users_seconds"] > 0
    assert "sasrec_fused" in capsys.readouterr().out
