"""Offline benchmark of the recommender core (full ranking, leave-last-out split).

    python -m bench.offline_recs --data ../shared/datasets/amazon_beauty --json OUT
        [--quick] [--seeds 42,43,44] [--format auto|amazon_beauty|unisrec] [--set K=V]
        [--artifact DIR]

The headline is the model the shop would serve: `recommender.ml.train_served`, the
function training runs call, tunes the item transitions and the titles' content
similarity, trains the transformer and keeps the best on validation of the
transformer, the transitions, their ensemble and that ensemble with the content.
Every candidate is evaluated on the test target per seed (`served` marks the one
chosen), beside the baselines (tuned on validation; deterministic, so evaluated once
and reported per seed). The report's `served` and `transformer` entries give the mean
over seeds and the worst seed. Headline setting: the user's earlier items are excluded
from the ranking; `no_exclusion` holds the same metrics with nothing excluded.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from bench._common import add_set_option, command_line, config_overrides, load_dataset, report_write  # noqa: E402
from bench.offline_report import HEADLINE_KEYS, format_table, seed_summaries  # noqa: E402
from recommender.ml import (  # noqa: E402
    ItemFeatures,
    LeaveLastOutSplit,
    ModelConfig,
    Popularity,
    RecentPopularity,
    Selection,
    TitleTfidf,
    TunedTransitions,
    Vocabulary,
    build_item_features,
    build_sequence_data,
    content_tune,
    evaluate,
    leave_last_out,
    train_served,
    transitions_tune,
    tune,
)

# Row kinds: the transitions candidate is the tuned item_transitions baseline's row.
ROW_KINDS = {"transformer": "transformer", "transitions": "baseline", "ensemble": "ensemble"}


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


@dataclass
class Bench:
    """The dataset, its split and features, and how every model is evaluated on it."""

    name: str
    users: int
    items: int
    split: LeaveLastOutSplit
    features: ItemFeatures
    titles: dict[Any, str]
    attributes: dict[Any, list[str]]
    config: ModelConfig
    eval_kw: dict[str, Any]

    def test_metrics(self, model: Any) -> dict[str, Any]:
        split = self.split
        return evaluate(
            model, split.test_inputs, split.test_targets, split.users_eval, **self.eval_kw
        )


def prepare(data_dir: str, fmt: str, cfg: ModelConfig, quick: bool, log=print) -> Bench:
    """The dataset read (`bench._common.load_dataset`), split and featurised."""
    raw = load_dataset(data_dir, fmt)
    item_vocab = Vocabulary(raw.catalogue)
    data = build_sequence_data(
        raw.user_ids, raw.item_ids, raw.timestamps, ["review"] * len(raw.user_ids), item_vocab
    )
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
    log(
        f"dataset {raw.name}: {len(data)} users, {len(item_vocab) - 2} items, {sum(len(s) for s in data.items)} events; "
        f"{len(split.users_eval)} users evaluated"
    )
    eval_kw = dict(
        **cfg.history_encoding(),
        item_counts=split.train.item_counts(),
        sampled_negatives=0 if quick else 99,
    )
    return Bench(
        raw.name,
        len(data),
        len(item_vocab) - 2,
        split,
        features,
        raw.titles,
        raw.attributes,
        cfg,
        eval_kw,
    )


def baseline_rows(bench: Bench, quick: bool, log=print) -> list[dict[str, Any]]:
    """Popularity, recent popularity and title TF-IDF, tuned on validation (not in
    quick mode) on a fixed subset of validation users, then evaluated on test."""
    split, max_len = bench.split, bench.config.max_len
    tune_rows = np.random.default_rng(0).permutation(split.users_eval)[:6000]
    baselines = (
        ("popularity", lambda: Popularity(split.train, max_len=max_len), None),
        (
            "recent_popularity",
            lambda half_life_days=90.0: RecentPopularity(
                split.train, half_life_days, max_len=max_len
            ),
            {"half_life_days": [30.0, 90.0, 365.0]},
        ),
        (
            "title_tfidf",
            lambda **p: TitleTfidf(
                split.train, bench.titles, bench.attributes, max_len=max_len, **p
            ),
            {"decay": [0.3, 0.6, 0.9]},
        ),
    )
    rows = []
    for name, make, grid in baselines:
        t0 = time.perf_counter()
        params: dict[str, Any] = {}
        if grid and not quick:
            params, val = tune(make, grid, split.val_inputs, split.val_targets, tune_rows, max_len)
            log(f"  {name}: tuned {params} (validation NDCG@10 {val:.4f})")
        metrics = bench.test_metrics(make(**params))
        seconds = time.perf_counter() - t0
        rows.append(
            _result(name, "baseline", metrics, seconds, "CPU (NumPy/SciPy)", {"params": params})
        )
        log(
            f"  {name}: NDCG@10 {rows[-1]['ndcg@10']:.4f} HR@10 {rows[-1]['hr@10']:.4f} ({seconds:.1f}s)"
        )
    return rows


def candidate_rows(
    bench: Bench, selection: Selection, seed: int, transitions_row: dict[str, Any]
) -> list[dict[str, Any]]:
    """Each candidate of `selection` on the test target: the transformer (with its
    top-K timing), the tuned transitions (`transitions_row`, evaluated once) and the
    ensemble; `served` marks the one `train_served` chose."""
    rows = []
    for name, candidate in selection.candidates.items():
        model = candidate.model
        extra = {
            "candidate": model.kind,
            "validation_ndcg@10": candidate.validation_ndcg,
            "params": candidate.params,
            "seed": seed,
            "served": model is selection.served,
        }
        if model.kind == "transitions":
            rows.append({**transitions_row, **extra})
            continue
        trained = model.transformer.metrics
        seconds = trained["train_seconds"]
        if model.kind == "ensemble":
            extra["ensemble"] = True
            stages = ["tune_transitions", "select"]
            if candidate.params.get("content_weight"):
                stages.append("tune_content")
            seconds += sum(selection.timings.get(stage, 0.0) for stage in stages)
        else:
            extra.update(_transformer_extra(bench, model, trained))
        row = _result(
            name,
            ROW_KINDS[model.kind],
            bench.test_metrics(model),
            seconds,
            trained["device"],
            extra,
        )
        rows.append(row)
    return rows


def _transformer_extra(bench: Bench, model: Any, trained: dict[str, Any]) -> dict[str, Any]:
    """The transformer row's training figures and its top-10 time over every test user."""
    timings = []
    for _ in range(3):
        t0 = time.perf_counter()
        model.top_k_data(bench.split.test_inputs, 10, exclude_history=True)
        timings.append(time.perf_counter() - t0)
    return {
        "topk_all_users_seconds": round(float(np.median(timings)), 3),
        "topk_users": len(bench.split.test_inputs),
        "best_epoch": trained["best_epoch"],
        "epochs": trained["epochs"],
        "best_val_ndcg@10": trained["best_val_ndcg@10"],
        "config": model.config.to_dict(),
    }


def _progress(log):
    def progress(r: dict[str, Any]) -> None:
        if r["stage"] == "epoch":
            val = r.get("val_ndcg@10")
            log(
                f"  epoch {r['epoch']}: loss {r['loss']:.4f} val NDCG@10 {val if val is None else round(val, 4)} "
                f"(best {r['best_val_ndcg@10']:.4f}, {r['elapsed']:.0f}s)"
            )

    return progress


def _transitions_row(bench: Bench, tuned: TunedTransitions) -> dict[str, Any]:
    metrics = bench.test_metrics(tuned.model)
    return _result("item_transitions", "baseline", metrics, tuned.seconds, "CPU (NumPy/SciPy)")


def run(
    data_dir: str,
    quick: bool = False,
    overrides: dict[str, Any] | None = None,
    artifact: str | None = None,
    log=print,
    seeds: list[int] | None = None,
    fmt: str = "auto",
) -> dict[str, Any]:
    cfg = transformer_config(quick, overrides or {})
    bench = prepare(data_dir, fmt, cfg, quick, log)
    seeds = seeds or [cfg.seed]
    log("baselines")
    baselines = baseline_rows(bench, quick, log)
    tuned = transitions_tune(bench.split, cfg, quick=quick, log=log)
    content = content_tune(bench.split, bench.features, cfg, quick=quick, log=log)
    transitions_row = _transitions_row(bench, tuned)
    results: list[dict[str, Any]] = []
    for seed in seeds:
        log(f"seed {seed}: transformer {cfg.replace(seed=seed)}")
        selection = train_served(
            bench.split,
            bench.features,
            cfg.replace(seed=seed),
            progress=_progress(log),
            log=log,
            quick=quick,
            transitions=tuned,
            content=content,
        )
        rows = candidate_rows(bench, selection, seed, transitions_row)
        results += [{**row, "seed": seed, "served": False} for row in baselines] + rows
        if artifact and seed == seeds[0]:
            served_row = next(row for row in rows if row["served"])
            selection.served.metrics["test"] = {k: served_row[k] for k in HEADLINE_KEYS}
            selection.served.save(artifact)
    return {
        "dataset": bench.name,
        "protocol": "full",
        "headline": "history_excluded",
        "quick": quick,
        "users": bench.users,
        "items": bench.items,
        "seeds": seeds,
        "artifact": {"path": artifact, "seed": seeds[0]} if artifact else None,
        "results": results,
        **seed_summaries(results, seeds),
    }


def _seeds(value: str) -> list[int]:
    try:
        return [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds are integers separated by commas, not {value!r}"
        ) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help="dataset directory")
    parser.add_argument(
        "--format",
        default="auto",
        choices=("auto", "amazon_beauty", "unisrec"),
        help="the dataset directory's layout (auto: by the files present)",
    )
    parser.add_argument("--json", required=True, help="where to write the JSON report")
    parser.add_argument("--quick", action="store_true", help="smoke-test settings (< 5 minutes)")
    parser.add_argument(
        "--seeds",
        type=_seeds,
        help="train and evaluate every candidate with each seed, e.g. 42,43,44 (default: the config's)",
    )
    add_set_option(parser)
    parser.add_argument(
        "--artifact", help="also save the served model (first seed) to this directory"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    overrides = config_overrides(args.set)
    t0 = time.perf_counter()
    report = run(
        args.data,
        args.quick,
        overrides,
        args.artifact,
        log=lambda s: print(s, flush=True),
        seeds=args.seeds,
        fmt=args.format,
    )
    report["total_seconds"] = round(time.perf_counter() - t0, 1)
    report["command"] = command_line("bench.offline_recs", argv)
    print(format_table(report))
    report_write(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
