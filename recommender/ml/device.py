"""Where the recommender trains and scores: the GPU when one is visible, else the CPU."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass

import tensorflow as tf

from .config import ModelConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeviceInfo:
    """Where a model runs and with which speed-ups."""

    device: str
    mixed_precision: bool
    jit_compile: bool


def configure_device(config: ModelConfig) -> DeviceInfo:
    """Picks the GPU if one is visible (mixed precision and XLA by default), else the CPU."""
    gpus = tf.config.list_physical_devices("GPU")
    device = _use_gpus(gpus) if gpus else _use_all_cpu_cores()
    on_gpu = bool(gpus)
    mixed = config.mixed_precision == "on" or (config.mixed_precision == "auto" and on_gpu)
    jit = config.jit_compile == "on" or (config.jit_compile == "auto" and on_gpu)
    info = DeviceInfo(device=device, mixed_precision=mixed, jit_compile=jit)
    log.info("recommender training on %s (mixed precision %s, XLA %s)", device, mixed, jit)
    return info


def _use_gpus(gpus: list) -> str:
    for gpu in gpus:
        # Raises once the runtime is initialised; the current setting then stays.
        with contextlib.suppress(RuntimeError):
            tf.config.experimental.set_memory_growth(gpu, True)
    try:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", "")
    except Exception:  # details are optional
        name = ""
    return f"GPU:0 ({name})" if name else "GPU:0"


def _use_all_cpu_cores() -> str:
    threads = os.cpu_count() or 1
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    except RuntimeError:  # the runtime was already initialised; defaults apply
        pass
    return f"CPU ({threads} cores)"
