"""Offline benchmark of the recommender core (full ranking, leave-last-out split).

    python -m bench.offline_recs --data ../shared/datasets/amazon_beauty --json OUT [--quick]

Trains every model on the training portion, early-stops/tunes on the validation
target, evaluates on the test target against all items, prints a table beside the
published rows and writes the JSON report. Headline setting: the user's earlier
items are excluded from the ranking; `no_exclusion` holds the same metrics with
nothing excluded.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from bench._common import add_set_option, command_line, config_overrides, load_dataset, report_write  # noqa: E402
from recommender.ml import (  # noqa: E402
    Blend,
    ItemTransitions,
    ModelConfig,
    Popularity,
    RecentPopularity,
    TitleTfidf,
    Vocabulary,
    build_item_features,
    build_sequence_data,
    evaluate,
    fit,
    leave_last_out,
    tune,
)

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


def transformer_config(quick: bool, overrides: dict[str, Any]) -> ModelConfig:
    cfg = ModelConfig()
    if quick:
        cfg = cfg.replace(max_epochs=3, max_train_seconds=90.0, patience=2)
    return cfg.replace(**overrides)


def _result(
    name: str,
    kind: str,
    metrics: dict[str, Any],
    train_seconds: float,
    device: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    head, noex = metrics["history_excluded"], metrics["no_exclusion"]
    res: dict[str, Any] = {"model": name, "kind": kind}
    res.update({k: head.get(k) for k in HEADLINE_KEYS})
    res["train_seconds"] = round(train_seconds, 2)
    res["device"] = device
    res["users"] = head["users"]
    res["segments"] = head["segments"]
    res["no_exclusion"] = {k: noex.get(k) for k in HEADLINE_KEYS}
    res["no_exclusion"]["segments"] = noex["segments"]
    if "sampled" in head:
        res["sampled99"] = {"history_excluded": head["sampled"], "no_exclusion": noex["sampled"]}
    if extra:
        res.update(extra)
    return res


def run(
    data_dir: str,
    quick: bool = False,
    overrides: dict[str, Any] | None = None,
    artifact: str | None = None,
    log=print,
) -> dict[str, Any]:
    raw = load_dataset(data_dir)
    item_vocab = Vocabulary(raw.catalogue)
    data = build_sequence_data(
        raw.user_ids, raw.item_ids, raw.timestamps, ["review"] * len(raw.user_ids), item_vocab
    )
    cfg = transformer_config(quick, overrides or {})
    features = build_item_features(
        item_vocab,
        raw.titles,
        raw.attributes,
        None,
        cfg.max_title_tokens,
        cfg.max_attributes,
        cfg.min_token_count,
    )
    split = leave_last_out(data)
    rows = split.users_eval
    counts = split.train.item_counts()
    sampled = 0 if quick else 99
    log(
        f"dataset {raw.name}: {len(data)} users, {len(item_vocab) - 2} items, {sum(len(s) for s in data.items)} events; "
        f"{len(rows)} users evaluated"
    )
    eval_kw = dict(
        max_len=cfg.max_len,
        n_gap_buckets=cfg.n_gap_buckets,
        item_counts=counts,
        sampled_negatives=sampled,
    )
    # Baselines are tuned on a fixed subset of validation users to keep the search quick.
    tune_rows = np.random.default_rng(0).permutation(rows)[: min(len(rows), 6000)]
    results: list[dict[str, Any]] = []
    fitted: dict[str, Any] = {}

    def add_baseline(name: str, make: Any, grid: dict[str, list[Any]] | None) -> None:
        t0 = time.perf_counter()
        params: dict[str, Any] = {}
        if grid and not quick:
            params, val = tune(
                make, grid, split.val_inputs, split.val_targets, tune_rows, cfg.max_len
            )
            log(f"  {name}: tuned {params} (validation NDCG@10 {val:.4f})")
        model = make(**params)
        seconds = time.perf_counter() - t0
        m = evaluate(model, split.test_inputs, split.test_targets, rows, **eval_kw)
        fitted[name] = model
        results.append(
            _result(name, "baseline", m, seconds, "CPU (NumPy/SciPy)", {"params": params})
        )
        log(
            f"  {name}: NDCG@10 {m['history_excluded']['ndcg@10']:.4f} HR@10 {m['history_excluded']['hr@10']:.4f} ({seconds:.1f}s)"
        )

    log("baselines")
    add_baseline("popularity", lambda: Popularity(split.train, max_len=cfg.max_len), None)
    add_baseline(
        "recent_popularity",
        lambda half_life_days=90.0: RecentPopularity(
            split.train, half_life_days, max_len=cfg.max_len
        ),
        {"half_life_days": [30.0, 90.0, 365.0]},
    )
    add_baseline(
        "item_transitions",
        lambda **p: ItemTransitions(split.train, max_len=cfg.max_len, **p),
        {"window": [1, 3, 5], "backward": [0.0, 0.5], "decay": [0.3, 0.6], "col_norm": [0.0, 0.3]},
    )
    add_baseline(
        "title_tfidf",
        lambda **p: TitleTfidf(split.train, raw.titles, raw.attributes, max_len=cfg.max_len, **p),
        {"decay": [0.3, 0.6, 0.9]},
    )

    log(f"transformer {cfg}")

    def progress(r: dict[str, Any]) -> None:
        if r["stage"] == "epoch":
            val = r.get("val_ndcg@10")
            log(
                f"  epoch {r['epoch']}: loss {r['loss']:.4f} val NDCG@10 {val if val is None else round(val, 4)} "
                f"(best {r['best_val_ndcg@10']:.4f}, {r['elapsed']:.0f}s)"
            )

    trained = fit(split, features, cfg, progress=progress)
    m = evaluate(trained, split.test_inputs, split.test_targets, rows, **eval_kw)
    timings = []
    for _ in range(3):
        t0 = time.perf_counter()
        trained.top_k_data(split.test_inputs, 10, exclude_history=True)
        timings.append(time.perf_counter() - t0)
    topk_seconds = float(np.median(timings))
    extra = {
        "topk_all_users_seconds": round(topk_seconds, 3),
        "topk_users": len(split.test_inputs),
        "best_epoch": trained.metrics["best_epoch"],
        "epochs": trained.metrics["epochs"],
        "best_val_ndcg@10": trained.metrics["best_val_ndcg@10"],
        "config": cfg.to_dict(),
    }
    results.append(
        _result(
            "sasrec_fused",
            "transformer",
            m,
            trained.metrics["train_seconds"],
            trained.metrics["device"],
            extra,
        )
    )
    log(
        f"  sasrec_fused: NDCG@10 {m['history_excluded']['ndcg@10']:.4f} HR@10 {m['history_excluded']['hr@10']:.4f} "
        f"train {trained.metrics['train_seconds']:.0f}s, top-10 all users {topk_seconds:.2f}s"
    )
    if artifact:
        trained.metrics["test"] = {k: results[-1][k] for k in HEADLINE_KEYS}
        trained.save(artifact)

    # Score-space blend with the transition baseline, weight picked on validation.
    t0 = time.perf_counter()
    trans = fitted["item_transitions"]
    best_w, best_val = 0.0, -1.0
    for w in [0.3] if quick else [0.1, 0.2, 0.3, 0.5, 0.8]:
        val = evaluate(
            Blend([trained, trans], [1.0, w]),
            split.val_inputs,
            split.val_targets,
            tune_rows,
            max_len=cfg.max_len,
            modes=("history_excluded",),
            ks=(10,),
        )["history_excluded"]["ndcg@10"]
        if val > best_val:
            best_w, best_val = w, val
    blend = Blend([trained, trans], [1.0, best_w], name="sasrec_fused+item_transitions")
    mb = evaluate(blend, split.test_inputs, split.test_targets, rows, **eval_kw)
    results.append(
        _result(
            blend.name,
            "transformer",
            mb,
            trained.metrics["train_seconds"] + time.perf_counter() - t0,
            trained.metrics["device"],
            {"params": {"transitions_weight": best_w}, "ensemble": True},
        )
    )
    log(
        f"  blend (w={best_w}): NDCG@10 {mb['history_excluded']['ndcg@10']:.4f} HR@10 {mb['history_excluded']['hr@10']:.4f}"
    )
    return {
        "dataset": raw.name,
        "protocol": "full",
        "headline": "history_excluded",
        "quick": quick,
        "users": len(data),
        "items": len(item_vocab) - 2,
        "results": results,
    }


def format_table(report: dict[str, Any]) -> str:
    lines = [
        f"dataset {report['dataset']} - full ranking, leave-last-out; 'excl' = user's earlier items excluded (headline), 'all' = nothing excluded",
        f"{'model':44s} {'kind':12s} {'HR@10 excl':>10s} {'NDCG@10 excl':>12s} {'HR@10 all':>9s} {'NDCG@10 all':>11s} {'HR@20':>7s} {'NDCG@20':>8s} {'MRR':>7s} {'cov@10':>7s} {'train s':>8s}",
    ]
    for r in report["results"]:
        ne = r["no_exclusion"]
        lines.append(
            f"{r['model']:44s} {r['kind']:12s} {r['hr@10']:10.4f} {r['ndcg@10']:12.4f} {ne['hr@10']:9.4f} {ne['ndcg@10']:11.4f} "
            f"{r['hr@20']:7.4f} {r['ndcg@20']:8.4f} {r['mrr']:7.4f} {r['coverage@10']:7.4f} {r['train_seconds']:8.1f}"
        )
    if report["dataset"] == "amazon_beauty":
        lines.append("published (same split, full ranking, history excluded):")
        for name, hr, nd in PUBLISHED:
            lines.append(f"{name:44s} {'published':12s} {hr:10.4f} {nd:12.4f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help="dataset directory (amazon_beauty format)")
    parser.add_argument("--json", required=True, help="where to write the JSON report")
    parser.add_argument("--quick", action="store_true", help="smoke-test settings (< 5 minutes)")
    add_set_option(parser)
    parser.add_argument("--artifact", help="also save the trained transformer to this directory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    overrides = config_overrides(args.set)
    t0 = time.perf_counter()
    report = run(
        args.data, args.quick, overrides, args.artifact, log=lambda s: print(s, flush=True)
    )
    report["total_seconds"] = round(time.perf_counter() - t0, 1)
    report["command"] = command_line("bench.offline_recs", argv)
    print(format_table(report))
    report_write(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
