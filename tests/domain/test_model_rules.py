"""Model status machine, expert parameter rules, checkpoint steps and fully automated recipes."""

from __future__ import annotations

import pytest

from tailor.domain import models as rules
from tailor.domain.enums import IpType, ModelStatus
from tailor.domain.errors import Conflict, InvalidInput
from tailor.services.training import choose_parameters


def test_status_machine() -> None:
    assert rules.transition("Created", "InProgress") == ModelStatus.InProgress
    for current, target in [
        ("InProgress", "Completed"),
        ("InProgress", "Failed"),
        ("InProgress", "Stopping"),
        ("Stopping", "Stopped"),
    ]:
        assert rules.can_transition(current, target)
    for current, target in [
        ("Created", "Completed"),
        ("Stopped", "InProgress"),
        ("Failed", "InProgress"),
        ("Completed", "InProgress"),
        ("Stopping", "Completed"),
        ("InProgress", "Stopped"),
    ]:
        with pytest.raises(Conflict):
            rules.transition(current, target)
    assert rules.is_training("Stopping") and not rules.is_training("Completed")


def test_checkpoint_steps_include_the_last_step() -> None:
    assert rules.checkpoint_steps(1500, 500) == [500, 1000, 1500]
    assert rules.checkpoint_steps(750, 500) == [500, 750]
    assert rules.checkpoint_steps(50, 100) == [50]


def test_expert_validation_names_the_field() -> None:
    with pytest.raises(InvalidInput) as e:
        rules.validate_expert_parameters({"rank": 512})
    assert e.value.field == "rank" and "between 4 and 256" in e.value.message
    p = rules.validate_expert_parameters({"learning_rate": 1e-3, "lr_scheduler": "constant_with_warmup"})
    assert p.learning_rate == 1e-3 and p.lr_warmup_steps == 100 and p.warmup_steps == 100
    assert rules.validate_expert_parameters({"lr_scheduler": "linear"}).warmup_steps == 0


def test_a_warm_up_never_outlasts_the_run() -> None:
    with pytest.raises(InvalidInput) as e:
        rules.validate_expert_parameters({"total_training_steps": 20, "lr_warmup_steps": 100})
    assert e.value.field == "lr_warmup_steps" and "less than total_training_steps (20)" in e.value.message
    # the default warm-up shrinks to a tenth of a short run instead
    assert rules.validate_expert_parameters({"total_training_steps": 20}).lr_warmup_steps == 2
    assert rules.validate_expert_parameters({"total_training_steps": 2}).lr_warmup_steps == 0
    assert rules.validate_expert_parameters({"total_training_steps": 750}).lr_warmup_steps == 100
    ok = {"total_training_steps": 20, "lr_warmup_steps": 100, "lr_scheduler": "cosine"}
    assert rules.validate_expert_parameters(ok).lr_warmup_steps is None  # no warm-up in that schedule


@pytest.mark.parametrize("ip_type", [t.value for t in IpType])
@pytest.mark.parametrize("n", [5, 20, 200, 5000])
def test_recipes_stay_inside_the_contract(ip_type: str, n: int) -> None:
    p = choose_parameters(ip_type, "illustration", n)
    again = rules.validate_expert_parameters(p.to_dict())  # every recipe is a valid expert request
    assert again == p
    assert 500 <= p.total_training_steps <= 3000


def test_recipes_scale_with_dataset_size_and_medium() -> None:
    small = choose_parameters("defined_character", "illustration", 5)
    large = choose_parameters("defined_character", "illustration", 100)
    assert small.total_training_steps < large.total_training_steps
    photo = choose_parameters("defined_character", "photography", 20)
    assert photo.learning_rate < choose_parameters("defined_character", "illustration", 20).learning_rate
    assert choose_parameters("icons", "illustration", 20).rank < small.rank
