from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import TestCase
from django.urls import reverse

from outcomes.models import PatientDerivation
from trials import services
from trials.models import AnalysisSettings, Role
from trials.selectors import analysis_settings_current

from ..conftest import Cast


def test_the_defaults_follow_decisions_md(cast: Cast) -> None:
    avatar = analysis_settings_current(trial=cast.avatar2)
    cosmo = analysis_settings_current(trial=cast.cosmo)
    assert (avatar.origin_event, cosmo.origin_event) == ("randomisation", "registration")  # D1
    assert avatar.landmark_days == Decimal("182.625")  # D3
    assert (avatar.interval_days, avatar.window_days, avatar.baseline_window_days) == (84, 14, 28)  # D8, D5
    assert (avatar.min_sd_days, avatar.confirmation_required, avatar.qol_horizon_days) == (42, False, 336)  # D13, D14
    assert (avatar.randomisation_method, avatar.randomisation_block_sizes) == ("permuted_blocks", [4, 6])  # D17
    assert [f["code"] for f in avatar.strata_definition["factors"]] == ["endocrine_partner", "oligo_lesions"]
    assert cosmo.randomisation_method == "none"


def test_a_change_creates_a_new_version_and_keeps_the_old(cast: Cast) -> None:
    statistician = cast.user(Role.STATISTICIAN)
    new = services.analysis_settings_change(
        trial=cast.avatar2, user=statistician, reason="SAP v2: SD needs 56 days", values={"min_sd_days": 56}
    )
    assert new.version == 2
    assert AnalysisSettings.objects.get(trial=cast.avatar2, version=1).min_sd_days == 42
    assert analysis_settings_current(trial=cast.avatar2).min_sd_days == 56
    assert new.history.get().history_change_reason == "SAP v2: SD needs 56 days"


def test_a_change_needs_a_reason_and_a_difference(cast: Cast) -> None:
    statistician = cast.user(Role.STATISTICIAN)
    with pytest.raises(ValidationError, match="reason for change"):
        services.analysis_settings_change(trial=cast.avatar2, user=statistician, reason="", values={"min_sd_days": 56})
    with pytest.raises(ValidationError, match="Nothing changed"):
        services.analysis_settings_change(trial=cast.avatar2, user=statistician, reason="x", values={"min_sd_days": 42})
    assert cast.avatar2.analysis_settings.count() == 1


def test_the_randomisation_method_is_locked_after_the_first_enrolment(cast: Cast) -> None:
    with pytest.raises(ValidationError, match="locked once the first patient"):
        services.analysis_settings_change(
            trial=cast.avatar2,
            user=cast.user(Role.STATISTICIAN),
            reason="Switch to minimisation",
            values={"randomisation_method": "minimisation"},
        )


def test_a_monitor_cannot_change_settings(cast: Cast) -> None:
    from django.http import Http404

    with pytest.raises(Http404):
        services.analysis_settings_change(
            trial=cast.avatar2, user=cast.user(Role.MONITOR), reason="x", values={"min_sd_days": 56}
        )


def test_the_settings_screen_saves_a_version_and_shows_what_changed(client: Any, cast: Cast) -> None:
    client.force_login(cast.user(Role.STATISTICIAN))
    url = reverse("trials:analysis_settings_change", kwargs={"code": "avatar2"})
    form = client.get(url).context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "missed_visit_censoring": "",  # unchecked box
            "strata_definition": form["strata_definition"].value(),
            "randomisation_block_sizes": form["randomisation_block_sizes"].value(),
            "reason": "Sensitivity: no missed-visit censoring",
        }
    )
    for name in ("count_clinical_progression", "censor_at_new_therapy"):
        data[name] = "on"
    for name in ("tsf_toxicity_switch_is_event", "ttnt_death_is_event", "confirmation_required"):
        data.pop(name, None)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors
    assert analysis_settings_current(trial=cast.avatar2).missed_visit_censoring is False
    page = client.get(reverse("trials:analysis_settings", kwargs={"code": "avatar2"})).content.decode()
    assert "Sensitivity: no missed-visit censoring" in page


class SettingsChangeRecomputes(TestCase):
    """on_commit callbacks need a real commit: a TestCase captures and runs them."""

    def test_a_new_version_recomputes_every_patient_of_the_trial(self) -> None:
        from trials.configuration import trial_configure

        from ..factories import PatientFactory, SiteFactory, UserFactory

        trial = {t.code: t for t in trial_configure()}["avatar2"]
        patient = PatientFactory(trial=trial, site=SiteFactory(code="NL01"), sequence=1)
        statistician = UserFactory(username="stat", role=Role.STATISTICIAN)
        with self.captureOnCommitCallbacks(execute=True):
            services.analysis_settings_change(
                trial=trial, user=statistician, reason="SAP v2", values={"min_sd_days": 56}
            )
        assert PatientDerivation.objects.get(patient=patient).settings_version == 2
