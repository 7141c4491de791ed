"""The offline benchmark's report: the mean and worst seed of the served model and of
the transformer, and the printed table (`bench.offline_recs` writes and prints it)."""

from __future__ import annotations

from typing import Any

import numpy as np

PUBLISHED = [
    ("Popularity (S3-Rec repo)", 0.0152, 0.0068),
    ("BERT4Rec (S3-Rec repo)", 0.0347, 0.0170),
    ("SASRec BCE (S3-Rec repo)", 0.0605, 0.0318),
    ("S3-Rec (S3-Rec repo)", 0.0647, 0.0327),
    ("DuoRec (eSASRec paper)", 0.0845, 0.0443),
    ("SASRec + sampled softmax (eSASRec paper)", 0.0921, 0.0531),
    ("eSASRec (eSASRec paper)", 0.0928, 0.0523),
]

HEADLINE_KEYS = (
    "hr@10",
    "ndcg@10",
    "hr@20",
    "ndcg@20",
    "mrr",
    "precision@10",
    "recall@10",
    "coverage@10",
    "popularity_bias@10",
)


def _best_baseline_ndcg(results: list[dict[str, Any]], seed: int) -> float:
    return max(r["ndcg@10"] for r in results if r["seed"] == seed and r["kind"] == "baseline")


def seed_summaries(results: list[dict[str, Any]], seeds: list[int]) -> dict[str, Any]:
    """The served candidate's and the transformer's mean over seeds and worst seed; a
    ratio to the best baseline is NDCG@10 over the best baseline's NDCG@10 that seed."""
    served = [next(r for r in results if r["seed"] == s and r["served"]) for s in seeds]
    transformer = [
        next(r for r in results if r["seed"] == s and r["kind"] == "transformer") for s in seeds
    ]
    names = [row["model"] for row in served]
    worst = min(range(len(seeds)), key=lambda i: served[i]["ndcg@10"])
    ratio = [
        row["ndcg@10"] / max(_best_baseline_ndcg(results, s), 1e-12)
        for s, row in zip(seeds, transformer, strict=True)
    ]
    return {
        "served": {
            "model": names[0] if len(set(names)) == 1 else names,
            "mean": _mean(served),
            "worst": {
                **{k: served[worst][k] for k in HEADLINE_KEYS},
                "model": names[worst],
                "seed": seeds[worst],
                "ratio_to_best_baseline": served[worst]["ndcg@10"]
                / max(_best_baseline_ndcg(results, seeds[worst]), 1e-12),
            },
        },
        "transformer": {"mean": _mean(transformer), "worst_ratio_to_best_baseline": min(ratio)},
    }


def _mean(rows: list[dict[str, Any]]) -> dict[str, float]:
    return {
        k: float(np.mean([row[k] for row in rows]))
        for k in HEADLINE_KEYS
        if rows[0].get(k) is not None
    }


def format_table(report: dict[str, Any]) -> str:
    """Per seed, every row (the served one starred), then the served model's and the
    transformer's mean and worst seed."""
    lines = [
        f"dataset {report['dataset']} - full ranking, leave-last-out; 'excl' = user's earlier items excluded (headline), 'all' = nothing excluded; * = served",
        f"{'seed':>5s} {'model':44s} {'kind':12s} {'HR@10 excl':>10s} {'NDCG@10 excl':>12s} {'HR@10 all':>9s} {'NDCG@10 all':>11s} {'HR@20':>7s} {'NDCG@20':>8s} {'MRR':>7s} {'cov@10':>7s} {'train s':>8s}",
    ]
    for r in report["results"]:
        ne = r["no_exclusion"]
        name = ("* " if r["served"] else "  ") + r["model"]
        lines.append(
            f"{r['seed']:>5d} {name:44s} {r['kind']:12s} {r['hr@10']:10.4f} {r['ndcg@10']:12.4f} {ne['hr@10']:9.4f} {ne['ndcg@10']:11.4f} "
            f"{r['hr@20']:7.4f} {r['ndcg@20']:8.4f} {r['mrr']:7.4f} {r['coverage@10']:7.4f} {r['train_seconds']:8.1f}"
        )
    lines += summary_lines(report)
    if report["dataset"] == "amazon_beauty":
        lines.append("published (same split, full ranking, history excluded):")
        for name, hr, nd in PUBLISHED:
            lines.append(f"{'':>5s} {name:44s} {'published':12s} {hr:10.4f} {nd:12.4f}")
    return "\n".join(lines)


def summary_lines(report: dict[str, Any]) -> list[str]:
    served, transformer = report["served"], report["transformer"]
    mean, worst, n = served["mean"], served["worst"], len(report["seeds"])
    return [
        f"served {served['model']}: mean over {n} seed(s) NDCG@10 {mean['ndcg@10']:.4f} HR@10 {mean['hr@10']:.4f}",
        f"served, worst seed {worst['seed']} ({worst['model']}): NDCG@10 {worst['ndcg@10']:.4f} HR@10 {worst['hr@10']:.4f},"
        f" {worst['ratio_to_best_baseline']:.3f} x the best baseline",
        f"transformer: mean NDCG@10 {transformer['mean']['ndcg@10']:.4f} HR@10 {transformer['mean']['hr@10']:.4f},"
        f" worst seed {transformer['worst_ratio_to_best_baseline']:.3f} x the best baseline",
    ]
