"""Forms of the follow-up CRFs. The FACT-B form is a table: one row per item, 0–4 radios and "not answered".

Only the item code and a neutral label are shown: the English item texts are FACIT's copyright; sites transcribe
the licensed paper or ePRO questionnaire the patient filled in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crispy_forms.layout import HTML, Layout
from django import forms

from ..crf import data_fields
from ..domain.factb import SUBSCALE_ITEMS, FactBSubscale
from ..forms import CrfForm
from .follow_up import RESPONSE_CHOICES, SUBSCALE_LABELS, FactB, item_label

NOT_ANSWERED = ""


@dataclass(frozen=True)
class ItemRow:
    code: str
    label: str
    field: forms.BoundField


@dataclass(frozen=True)
class ItemGroup:
    subscale: FactBSubscale
    title: str
    rows: list[ItemRow]


class FactBForm(CrfForm):
    #: column headings of the response table, in the order of the radios
    response_headings = ("Not answered", "0", "1", "2", "3", "4")

    class Meta:
        model = FactB
        fields = data_fields(FactB)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for subscale_items in SUBSCALE_ITEMS.values():
            for code in subscale_items:
                field = self.fields[code.lower()]
                field.widget = forms.RadioSelect(choices=[(NOT_ANSWERED, "Not answered"), *RESPONSE_CHOICES])
                field.label = item_label(code)
        self.helper.layout = Layout(
            "completion_date",
            HTML('{% include "patients/crfs/fact_b_items.html" %}'),
            "version",
            "reason",
        )

    def item_groups(self) -> list[ItemGroup]:
        return [
            ItemGroup(
                subscale,
                f"{subscale.value}: {SUBSCALE_LABELS[subscale]} well-being"
                if subscale != FactBSubscale.BREAST_CANCER
                else "BCS: additional concerns (breast cancer subscale)",
                [ItemRow(code, item_label(code), self[code.lower()]) for code in SUBSCALE_ITEMS[subscale]],
            )
            for subscale in FactBSubscale
        ]
