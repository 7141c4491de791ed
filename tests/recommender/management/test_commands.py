"""The train, refresh_recommendations and recommendations commands."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from recommender.models import ModelVersion

pytestmark = pytest.mark.django_db


def test_unknown_training_parameters_are_refused():
    with pytest.raises(CommandError, match="unknown training parameter"):
        call_command("train", "--set", "dimm=3")


def test_recommendations_command_prints_rank_product_title_score_reason(
    active_version, shop_data, capsys
):
    call_command("recommendations", str(shop_data[0].pk), "--limit", "3")
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    rank, product_id, title, score, reason = lines[0].split("\t")
    assert rank == "1" and product_id.isdigit() and "widget" in title and float(score) and reason


def test_train_command_in_process(shop_data, capsys):
    call_command(
        "train",
        "--set",
        "max_epochs=2",
        "--set",
        "dim=16",
        "--set",
        "max_len=8",
        "--set",
        "n_blocks=1",
    )
    assert "holdout NDCG@10" in capsys.readouterr().out
    assert ModelVersion.objects.filter(is_active=True).exists()
