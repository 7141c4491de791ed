"""GPU check: trains the default transformer on a dataset and records where and how fast.

    python -m bench.gpu_check --data ../shared/datasets/amazon_beauty --json OUT
        [--format auto|amazon_beauty|unisrec] [--set KEY=VALUE ...] [--max-seconds N]
        [--max-users N] [--require-gpu]

The product's own path: `recommender.ml` builds the sequences, features and split,
`fit` trains (on the GPU when TensorFlow sees one, with mixed precision and XLA unless
`--set` turns them off) and `evaluate` scores validation and test NDCG@10, history
excluded. The JSON says on which device, how long an epoch took (the median: the first
epoch also pays for tracing and XLA compilation) and with which TensorFlow.
`bench/gpu_check.sh` runs it on a GPU machine; on a CPU it runs as a smoke test
(`--max-seconds 30 --max-users 2000`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from bench._common import (  # noqa: E402
    DATASET_FORMATS,
    RawDataset,
    add_set_option,
    command_line,
    config_overrides,
    load_dataset,
    report_write,
)
from recommender.ml import (  # noqa: E402
    ItemFeatures,
    LeaveLastOutSplit,
    ModelConfig,
    TrainedModel,
    Vocabulary,
    build_item_features,
    build_sequence_data,
    configure_device,
    evaluate,
    fit,
    leave_last_out,
)

NO_GPU_EXIT = 2


def first_users(raw: RawDataset, n_users: int | None) -> RawDataset:
    """The rows of the first `n_users` users (in row order): a quick slice, catalogue whole."""
    if not n_users:
        return raw
    kept: set[Any] = set()
    rows = []
    for row, user in enumerate(raw.user_ids):
        if user not in kept and len(kept) < n_users:
            kept.add(user)
        if user in kept:
            rows.append(row)
    return RawDataset(
        name=raw.name,
        user_ids=[raw.user_ids[r] for r in rows],
        item_ids=[raw.item_ids[r] for r in rows],
        timestamps=None if raw.timestamps is None else [raw.timestamps[r] for r in rows],
        catalogue=raw.catalogue,
        titles=raw.titles,
        attributes=raw.attributes,
    )


def prepare(raw: RawDataset, config: ModelConfig) -> tuple[LeaveLastOutSplit, ItemFeatures]:
    """The leave-last-out split and item features, as the training pipeline builds them."""
    item_vocab = Vocabulary(raw.catalogue)
    data = build_sequence_data(raw.user_ids, raw.item_ids, raw.timestamps, None, item_vocab)
    features = build_item_features(
        item_vocab,
        raw.titles,
        raw.attributes,
        None,
        config.max_title_tokens,
        config.max_attributes,
        config.min_token_count,
    )
    return leave_last_out(data), features


def gpu_name() -> str | None:
    """The first visible GPU's name as TensorFlow reports it, or None without a GPU."""
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    return tf.config.experimental.get_device_details(gpus[0]).get("device_name") or gpus[0].name


def holdout_scores(
    trained: TrainedModel, split: LeaveLastOutSplit, config: ModelConfig
) -> dict[str, float]:
    """Validation and test NDCG@10 and HR@10, history excluded (the headline setting)."""
    out = {}
    for name, inputs, targets in (
        ("val", split.val_inputs, split.val_targets),
        ("test", split.test_inputs, split.test_targets),
    ):
        scores = evaluate(
            trained,
            inputs,
            targets,
            split.users_eval,
            **config.history_encoding(),
            ks=(10,),
            modes=("history_excluded",),
            batch_size=config.eval_batch_size,
            with_top_k=False,
        )["history_excluded"]
        out[f"{name}_ndcg@10"], out[f"{name}_hr@10"] = scores["ndcg@10"], scores["hr@10"]
    return out


def timings(metrics: dict[str, Any]) -> dict[str, Any]:
    """Epoch seconds (training steps only) and the whole `fit`, from its metrics."""
    seconds = [record["epoch_seconds"] for record in metrics["history"]]
    return {
        "epochs": metrics["epochs"],
        "best_epoch": metrics["best_epoch"],
        "first_epoch_seconds": seconds[0] if seconds else None,
        "epoch_seconds_median": float(np.median(seconds)) if seconds else None,
        "train_seconds": metrics["train_seconds"],
    }


def run(raw: RawDataset, config: ModelConfig, log=print) -> dict[str, Any]:
    """Trains and scores; the report's figures."""
    split, features = prepare(raw, config)
    n_items = len(split.train.item_vocab) - 2
    log(
        f"dataset {raw.name}: {len(split.train)} users, {n_items} items, {len(raw.item_ids)} events"
    )
    trained = fit(split, features, config)
    metrics = trained.metrics
    seconds = metrics["train_seconds"]
    log(f"trained on {metrics['device']}: {metrics['epochs']} epochs, {seconds:.0f}s")
    return {
        "dataset": raw.name,
        "users": len(split.train),
        "items": n_items,
        "events": len(raw.item_ids),
        "device": metrics["device"],
        "gpu_name": gpu_name(),
        "mixed_precision": metrics["mixed_precision"],
        "jit_compile": metrics["jit_compile"],
        "tensorflow_version": tf.__version__,
        **timings(metrics),
        **holdout_scores(trained, split, config),
        "config": config.to_dict(),
    }


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", required=True, help="dataset directory")
    parser.add_argument("--format", default="auto", choices=DATASET_FORMATS)
    parser.add_argument("--json", required=True, help="where to write the JSON report")
    add_set_option(parser)
    parser.add_argument(
        "--max-seconds", type=float, help="training time budget (max_train_seconds)"
    )
    parser.add_argument(
        "--max-users", type=int, help="train on the first N users only (a smoke test)"
    )
    parser.add_argument(
        "--require-gpu", action="store_true", help=f"exit {NO_GPU_EXIT} if TensorFlow sees no GPU"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    config = ModelConfig().replace(**config_overrides(args.set))
    if args.max_seconds:
        config = config.replace(max_train_seconds=args.max_seconds)
    device = configure_device(config)
    if args.require_gpu and not device.device.startswith("GPU"):
        print(
            "gpu_check: TensorFlow sees no GPU: is its GPU build installed"
            " (pip install -r requirements-gpu.txt) and the driver loaded?",
            file=sys.stderr,
        )
        return NO_GPU_EXIT
    started = time.perf_counter()
    raw = first_users(load_dataset(args.data, args.format), args.max_users)
    report = run(raw, config, log=lambda line: print(line, flush=True))
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    report["command"] = command_line("bench.gpu_check", argv)
    report_write(args.json, report)
    print(
        f"{report['device']}: epoch {report['epoch_seconds_median']:.2f}s (median), validation"
        f" NDCG@10 {report['val_ndcg@10']:.4f}, test {report['test_ndcg@10']:.4f}"
        f"; wrote {args.json}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
