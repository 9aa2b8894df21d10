"""A tumour assessment's new rows are inserted together (``services._insert_with_history``): the rows, their history
rows and their audit-chain markers must be exactly what saving them one by one writes, in the same order."""

from __future__ import annotations

from typing import Any

import pytest

from lesions import services
from lesions.models import Lesion, NewLesion, NewLesionRow, NonTargetObservation, TargetMeasurement, TumourAssessment
from trials.models_compliance import AuditChainPending

from ..conftest import Cast
from .test_tumour_assessment import SCAN, baseline, follow_up, register, rows

__all__ = ["baseline", "register"]  # fixtures used here

ROW_MODELS = (TargetMeasurement, NonTargetObservation, NewLesion)


def written(assessment: TumourAssessment) -> list[tuple[Any, ...]]:
    """Every history row of the assessment's rows, in write order, with what the audit trail keeps of it, and the
    order of its history date and of its marker among the rest."""
    found = []
    for model in ROW_MODELS:
        label = model.history.model._meta.label_lower
        for row in model.history.filter(assessment_id=assessment.pk).order_by("history_id"):
            marker = AuditChainPending.objects.get(history_model=label, history_id=row.history_id)
            found.append(
                (
                    label,
                    row.history_type,
                    row.history_user_id,
                    row.history_change_reason,
                    row.site_id,
                    getattr(row, "lesion_id", None),
                    row.status,
                    getattr(row, "diameter_tenths", None),
                    row.scan_date,
                    getattr(row, "site_code", None),
                    marker.history_date == row.history_date,
                    row.history_date,
                    marker.pk,
                )
            )
    # chain order is history date, then table, then history id: the rows' dates and markers follow write order
    dates = [entry[-2] for entry in found]
    markers = [entry[-1] for entry in found]
    assert dates == sorted(dates)
    assert markers == sorted(markers)
    return [entry[:-2] for entry in found]


def test_new_rows_inserted_together_write_what_saving_each_writes(
    cast: Cast, coordinator: Any, baseline: TumourAssessment, register: dict[str, Lesion], monkeypatch: Any
) -> None:
    new = (NewLesionRow("EQUIVOCAL", SCAN, "liver", None, "segment 7"), NewLesionRow("YES", SCAN, "lung", None, ""))
    together = follow_up(coordinator, cast.patient_a, rows(register, new=new), occurrence=1, response="PD")
    with monkeypatch.context() as patched:
        patched.setattr(services, "_history_writer", lambda model: None)  # every row saved on its own
        one_by_one = follow_up(coordinator, cast.patient_a, rows(register, new=new), occurrence=2, response="PD")
    assert len(written(together)) == 6
    assert written(together) == written(one_by_one)
    for model in ROW_MODELS:
        mine = list(model.objects.filter(assessment=together).order_by("pk").values_list("pk", flat=True))
        assert mine == sorted(mine) and len(mine) == len(set(mine)) > 0


def test_a_row_model_with_its_own_save_receiver_is_saved_row_by_row(
    cast: Cast, coordinator: Any, baseline: TumourAssessment, register: dict[str, Lesion]
) -> None:
    from django.db.models.signals import post_save

    seen: list[int] = []

    def receiver(sender: Any, instance: TargetMeasurement, created: bool, **kwargs: Any) -> None:
        seen.append(instance.pk)

    post_save.connect(receiver, sender=TargetMeasurement, dispatch_uid="test_row_writes_receiver")
    try:
        assert services._history_writer(TargetMeasurement) is None
        saved = follow_up(coordinator, cast.patient_a, rows(register), occurrence=1)
    finally:
        post_save.disconnect(dispatch_uid="test_row_writes_receiver", sender=TargetMeasurement)
    assert services._history_writer(TargetMeasurement) is not None
    assert sorted(seen) == sorted(saved.target_measurements.values_list("pk", flat=True))


@pytest.mark.parametrize("model", ROW_MODELS)
def test_the_rows_of_an_assessment_are_inserted_together(model: Any) -> None:
    assert services._history_writer(model) is not None
