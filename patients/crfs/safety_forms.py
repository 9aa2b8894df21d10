"""Forms of the safety CRFs. Meaning is checked by the edit checks in ``patients.crfs.safety``; the adverse-event form
also refuses a grade the chosen CTCAE term does not have, and offers only the grades that exist.

The grade choices follow the term in the browser without a request: the form embeds, as a JSON script tag, each
term's available grades and their CTCAE texts (``CtcaeGradeSelect``), and a few lines of JavaScript filter the grade
options and show the chosen grade's text.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from crispy_forms.layout import Column, Field, Fieldset, Layout, Row
from django import forms
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from ..crf import data_fields
from ..ctcae import grade_catalogue
from ..forms import CrfForm
from .safety import (
    ATTRIBUTION_FIELDS,
    GRADE_CHOICES,
    SERIOUSNESS_FIELDS,
    VISCERAL_ORGAN_FIELDS,
    AdverseEvent,
    CtcaeTerm,
    VisceralCrisis,
)


class CtcaeGradeSelect(forms.Select):
    """The grade select, followed by the per-term grade catalogue (JSON) and the script that filters the options.

    Rendered through the project's template engine: the default form renderer does not search ``templates/``.
    """

    snippet = "patients/crfs/ctcae_grade_select.html"

    def __init__(self, *args: Any, term_field: str = "term", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.term_field = term_field

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        select = super().render(name, value, attrs, renderer)
        select_id = (attrs or {}).get("id") or self.attrs.get("id") or f"id_{name}"
        # The term field's id, with the same form prefix as this one ("id_" + ["prefix-"] + name).
        prefix = name.rsplit("-", 1)[0] + "-" if "-" in name else ""
        id_start = select_id[: -len(name)] if select_id.endswith(name) else "id_"
        term_id = f"{id_start}{prefix}{self.term_field}"
        catalogue = grade_catalogue(CtcaeTerm.objects.only("id", "term", *(f"grade_{g}" for g in range(1, 6))))
        snippet = render_to_string(
            self.snippet,
            {"select_id": select_id, "term_id": term_id, "data_id": f"{select_id}_catalogue", "catalogue": catalogue},
        )
        return mark_safe(select + snippet)  # noqa: S308 - both parts are rendered by auto-escaping templates


class AdverseEventForm(CrfForm):
    class Meta:
        model = AdverseEvent
        fields = data_fields(AdverseEvent)
        widgets = {
            "grade": CtcaeGradeSelect(choices=[("", "—"), *GRADE_CHOICES]),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        term = self.fields["term"]
        terms = list(CtcaeTerm.objects.only("id", "soc", "term").order_by("soc", "term"))
        # Grouped by system organ class: 837 terms are found by typing within 26 groups.
        grouped: list[Any] = [("", "— choose a CTCAE term —")]
        grouped += [(soc, [(t.pk, t.term) for t in items]) for soc, items in groupby(terms, key=lambda t: t.soc)]
        term.choices = grouped  # type: ignore[attr-defined]
        term.help_text = (
            "CTCAE v5.0, grouped by system organ class. Only the grades that exist for it are offered."
            if terms
            else "The CTCAE term list is not loaded: ask the sponsor admin to run manage.py import_ctcae."
        )
        self.helper.layout = Layout(
            Fieldset(
                "Event",
                "term",
                "other_specify",
                "grade",
                Row(Column("onset_date"), Column("resolution_date"), Column(Field("ongoing"), css_class="pt-4")),
            ),
            Fieldset(
                "Attribution (relationship to each intervention; leave empty if not received)",
                Row(*(Column(name, css_class="col-md-4") for name in ATTRIBUTION_FIELDS.values())),
            ),
            Fieldset(
                "Seriousness (ICH E2A: any ticked criterion makes the event serious)",
                Row(*(Column(name, css_class="col-md-6") for name in SERIOUSNESS_FIELDS.values())),
            ),
            Fieldset(
                "Expectedness, outcome and action",
                Row(Column("expectedness"), Column("outcome"), Column("action_taken")),
            ),
            Fieldset(
                "Expedited reporting (serious adverse events)",
                Row(Column("site_awareness_date"), Column("reported_to_sponsor_date")),
            ),
            "version",
            "reason",
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        term: CtcaeTerm | None = cleaned.get("term")
        grade = cleaned.get("grade")
        if term is not None and grade not in (None, ""):
            grade = int(grade)
            if grade not in term.available_grades:
                offered = ", ".join(str(g) for g in term.available_grades)
                self.add_error(
                    "grade", f"Grade {grade} does not exist in CTCAE v5.0 for {term.term} (grades {offered})."
                )
        if term is not None and (cleaned.get("other_specify") or "").strip() and not term.is_other_specify:
            self.add_error("other_specify", "'Other, specify' text is only for an '… - Other, specify' term.")
        return cleaned


class VisceralCrisisForm(CrfForm):
    class Meta:
        model = VisceralCrisis
        fields = data_fields(VisceralCrisis)
        widgets = {"other_findings": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.NullBooleanSelect):
                # None is "not looked for", not "unknown".
                field.widget.choices = [("unknown", "Not assessed"), ("true", "Yes"), ("false", "No")]
        lab = {"css_class": "col-md-3"}
        self.helper.layout = Layout(
            "onset_date",
            Fieldset(
                "Organ(s) in crisis",
                Row(*(Column(name, css_class="col-md-4") for name in VISCERAL_ORGAN_FIELDS)),
                "organ_other_specify",
            ),
            Fieldset(
                "Supporting findings",
                Row(Column("bilirubin", **lab), Column("bilirubin_uln", **lab)),
                Row(Column("alt", **lab), Column("alt_uln", **lab), Column("ast", **lab), Column("ast_uln", **lab)),
                Row(Column("dyspnoea_at_rest", **lab), Column("spo2", **lab), Column("spo2_on_room_air", **lab)),
                Row(Column("haemoglobin", **lab), Column("neutrophils", **lab), Column("platelets", **lab)),
                Row(Column("lymphangitic_spread", **lab), Column("rapid_progression", **lab)),
                "other_findings",
            ),
            Fieldset(
                "Investigator attestation and decision",
                "abc_definition_met",
                Row(Column("treatment_decision"), Column("treatment_decision_specify")),
            ),
            "version",
            "reason",
        )
