"""The quick benchmark end to end, on a tiny dataset in the amazon_beauty format."""

import json

import numpy as np
import pytest

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


HEADLINE = ("hr@10", "ndcg@10", "hr@20", "ndcg@20", "mrr", "coverage@10")


def test_quick_benchmark_end_to_end(tmp_path, capsys):
    data = tmp_path / "tiny"
    write_dataset(data)
    out = tmp_path / "out.json"
    artifact = tmp_path / "served"
    args = ["--data", str(data), "--json", str(out), "--quick", "--seeds", "1,2"]
    assert main([*args, "--format", "amazon_beauty", "--artifact", str(artifact)]) == 0
    report = json.loads(out.read_text())
    assert report["dataset"] == "tiny" and report["protocol"] == "full"
    assert report["seeds"] == [1, 2]
    expected = {
        "popularity": "baseline",
        "recent_popularity": "baseline",
        "item_transitions": "baseline",
        "title_tfidf": "baseline",
        "sasrec_fused": "transformer",
        "sasrec_fused+item_transitions": "ensemble",
    }
    for seed in (1, 2):
        rows = [r for r in report["results"] if r["seed"] == seed]
        # The ensemble with the titles' content is named by the parts it weighs (the
        # transitions' weight may be 0): "sasrec_fused[+item_transitions]+title_tfidf".
        with_content = [r for r in rows if r.get("params", {}).get("content_weight")]
        assert len(with_content) == 1 and with_content[0]["kind"] == "ensemble"
        assert with_content[0]["model"].startswith("sasrec_fused+")
        assert with_content[0]["model"].endswith("+title_tfidf")
        rows_by_model = {r["model"]: r["kind"] for r in rows if r not in with_content}
        assert rows_by_model == expected
        assert sum(r["served"] for r in rows) == 1
        served = next(r for r in rows if r["served"])
        candidates = [r for r in rows if "candidate" in r]
        assert {r["candidate"] for r in candidates} == {"transformer", "transitions", "ensemble"}
        assert served in candidates
        assert served["validation_ndcg@10"] == max(r["validation_ndcg@10"] for r in candidates)
        transformer = next(r for r in rows if r["kind"] == "transformer")
        assert transformer["topk_all_users_seconds"] > 0
        assert transformer["config"]["seed"] == seed
    for r in report["results"]:
        for key in (*HEADLINE, "train_seconds", "device", "seed", "served"):
            assert key in r
        assert set(r["segments"]) == {"cold", "warm", "hot"}
        assert {"hr@10", "ndcg@10"} <= set(r["no_exclusion"])
        assert 0 <= r["ndcg@10"] <= r["hr@10"] <= 1

    served_rows = [r for r in report["results"] if r["served"]]
    summary = report["served"]
    names = [r["model"] for r in served_rows]
    assert summary["model"] == (names[0] if len(set(names)) == 1 else names)
    for key in HEADLINE:
        assert summary["mean"][key] == pytest.approx(np.mean([r[key] for r in served_rows]))
    worst = min(served_rows, key=lambda r: r["ndcg@10"])
    assert (
        summary["worst"]["seed"] == worst["seed"]
        and summary["worst"]["ndcg@10"] == worst["ndcg@10"]
    )
    best_baseline = max(
        r["ndcg@10"]
        for r in report["results"]
        if r["kind"] == "baseline" and r["seed"] == worst["seed"]
    )
    assert summary["worst"]["ratio_to_best_baseline"] == pytest.approx(
        worst["ndcg@10"] / best_baseline
    )
    transformers = [r for r in report["results"] if r["kind"] == "transformer"]
    assert report["transformer"]["mean"]["ndcg@10"] == pytest.approx(
        np.mean([r["ndcg@10"] for r in transformers])
    )
    ratios = [
        r["ndcg@10"]
        / max(
            b["ndcg@10"]
            for b in report["results"]
            if b["kind"] == "baseline" and b["seed"] == r["seed"]
        )
        for r in transformers
    ]
    assert report["transformer"]["worst_ratio_to_best_baseline"] == pytest.approx(min(ratios))

    saved = json.loads((artifact / "served.json").read_text())
    assert saved["name"] == served_rows[0]["model"]  # the first seed's served model
    printed = capsys.readouterr().out
    assert "sasrec_fused" in printed and "worst seed" in printed


def test_seeds_must_be_integers(tmp_path):
    with pytest.raises(SystemExit):
        main(["--data", str(tmp_path), "--json", str(tmp_path / "o.json"), "--seeds", "1,x"])
