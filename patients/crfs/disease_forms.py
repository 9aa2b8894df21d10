"""Entry forms of the disease CRFs (4, 5, 9, 10, 11): radio buttons, grouped agent check boxes, help texts."""

from __future__ import annotations

from typing import Any

from crispy_forms.layout import Fieldset, Layout

from ..crf import data_fields
from ..forms import CrfForm
from ..services.enrolment import CONFIRMATION_FIELD
from .disease import (
    AGENT_FIELDS,
    ClinicalProgression,
    StrategyFailure,
    SubsequentTherapy,
    SystemicTherapyLine,
    TumourBiology,
)
from .enrolment_forms import InvestigatorConfirmationForm, radio, yes_no_radio


def _layout_with_agents(before: list[str], after: list[str]) -> Layout:
    return Layout(
        *before,
        Fieldset("Agents (tick every agent of the line)", *AGENT_FIELDS, "agent_details"),
        *after,
        "version",
        "reason",
    )


class TumourBiologyForm(CrfForm):
    class Meta:
        model = TumourBiology
        fields = data_fields(TumourBiology)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        radio(self, "specimen", "her2_ihc", "ish")


class SystemicTherapyLineForm(CrfForm):
    class Meta:
        model = SystemicTherapyLine
        fields = data_fields(SystemicTherapyLine)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        radio(self, "reason_stopped", "best_response")
        self.fields["reason_stopped_specify"].help_text = "Required when the reason is other."
        self.helper.layout = _layout_with_agents(
            ["line_number"],
            [
                "start_date",
                "stop_date",
                "reason_stopped",
                "reason_stopped_specify",
                "best_response",
                "protocol_therapy",
            ],
        )


class ClinicalProgressionForm(InvestigatorConfirmationForm):
    class Meta:
        model = ClinicalProgression
        fields = data_fields(ClinicalProgression)
        help_texts = {"progression_date": "A full date, on or after enrolment."}

    field_order = ["progression_date", "description", CONFIRMATION_FIELD]


class StrategyFailureForm(CrfForm):
    """Offers only the patient's own clinical progressions to link (``takes_patient``: the view passes it)."""

    takes_patient = True

    class Meta:
        model = StrategyFailure
        fields = data_fields(StrategyFailure)
        help_texts = {
            "progressing_lesions": "Count every progressing lesion.",
            "linked_clinical_progression": "If a clinical progression caused the failure: its date is the TSF date.",
        }

    def __init__(self, *args: Any, patient: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["linked_clinical_progression"]
        field.queryset = ClinicalProgression.objects.filter(patient=patient)  # type: ignore[attr-defined]
        radio(self, "failure_reason", "management")
        yes_no_radio(self, "amenable_to_sabr")
        self.fields["failure_reason_specify"].help_text = "Required when the reason is other."


class SubsequentTherapyForm(CrfForm):
    class Meta:
        model = SubsequentTherapy
        fields = data_fields(SubsequentTherapy)
        help_texts = {
            "progression_date": "Required when there was progression on this line.",
            "progression_type": "Investigator-assessed (D11).",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        yes_no_radio(self, "progression")
        radio(self, "progression_type")
        self.helper.layout = _layout_with_agents(
            ["start_date"], ["progression", "progression_date", "progression_type"]
        )
