from django.db import models

from patients.checks import crf_field_names
from patients.crf import CaseReportForm, CrfSpec


def test_the_installed_crfs_pass_the_checks() -> None:
    assert crf_field_names(None) == []


def test_a_crf_field_named_like_a_form_control_is_an_error(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    class Clashing(CaseReportForm):
        reason = models.CharField(max_length=10, blank=True)
        crf = CrfSpec(code="clashing", name="Clashing", number=99)

        class Meta:
            app_label = "patients"

    monkeypatch.setattr("patients.crf.crf_models", lambda: [Clashing])
    errors = crf_field_names(None)
    assert [e.id for e in errors] == ["patients.E001"]
    assert "reason" in errors[0].msg
