"""bench.gpu_check on the CPU, on a tiny dataset: its JSON, and the script's refusal without
a GPU."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow as tf

from bench._common import load_dataset
from bench.gpu_check import NO_GPU_EXIT, first_users, main
from tests.recommender.ml.test_bench import write_dataset

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--set", "dim=16", "--set", "n_blocks=1", "--set", "max_epochs=2", "--max-seconds", "30"]
HAS_GPU = bool(tf.config.list_physical_devices("GPU"))


def test_the_check_trains_on_the_cpu_and_reports_its_figures(tmp_path):
    write_dataset(tmp_path / "tiny")
    out = tmp_path / "bench" / "gpu_check.json"
    assert main(["--data", str(tmp_path / "tiny"), "--json", str(out), *TINY]) == 0
    report = json.loads(out.read_text())
    assert report["dataset"] == "tiny" and report["users"] == 60
    assert report["tensorflow_version"] == tf.__version__
    assert report["epochs"] == 2 and report["config"]["dim"] == 16
    assert 0 < report["epoch_seconds_median"] <= report["train_seconds"]
    for key in ("val_ndcg@10", "test_ndcg@10"):
        assert 0 <= report[key] <= 1
    if not HAS_GPU:
        assert report["device"].startswith("CPU") and report["gpu_name"] is None
        assert not report["jit_compile"] and not report["mixed_precision"]


def test_max_users_keeps_the_first_users_whole(tmp_path):
    write_dataset(tmp_path / "tiny")
    raw = load_dataset(tmp_path / "tiny")
    head = first_users(raw, 3)
    first = list(dict.fromkeys(raw.user_ids))[:3]
    assert list(dict.fromkeys(head.user_ids)) == first
    assert len(head.user_ids) == sum(user in first for user in raw.user_ids)
    assert head.catalogue == raw.catalogue and first_users(raw, None) is raw


@pytest.mark.skipif(HAS_GPU, reason="this machine has a GPU")
def test_require_gpu_refuses_without_a_gpu(tmp_path, capsys):
    write_dataset(tmp_path / "tiny")
    out = tmp_path / "gpu_check.json"
    assert (
        main(["--data", str(tmp_path / "tiny"), "--json", str(out), "--require-gpu"]) == NO_GPU_EXIT
    )
    assert "sees no GPU" in capsys.readouterr().err and not out.exists()


def run_script(tmp_path, **env):
    return subprocess.run(
        ["bash", "bench/gpu_check.sh", *TINY],
        cwd=ROOT,
        env={**os.environ, "OUT": str(tmp_path / "out"), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="nvidia-smi is present")
def test_the_script_refuses_without_nvidia_smi_before_installing_anything(tmp_path):
    result = run_script(tmp_path, GPU_CHECK_VENV=str(tmp_path / "venv"))
    assert result.returncode == 2
    assert "nvidia-smi not found" in result.stderr and "GPU_CHECK_ALLOW_CPU=1" in result.stderr
    assert not (tmp_path / "venv").exists() and not (tmp_path / "out").exists()


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="nvidia-smi is present")
def test_the_script_runs_on_the_cpu_when_allowed(tmp_path):
    write_dataset(tmp_path / "tiny")
    result = run_script(
        tmp_path,
        DATA=str(tmp_path / "tiny"),
        GPU_CHECK_ALLOW_CPU="1",
        GPU_CHECK_SKIP_INSTALL="1",
        GPU_CHECK_VENV=str(Path(sys.executable).parent.parent),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    assert report["device"].startswith("CPU") and report["dataset"] == "tiny"
