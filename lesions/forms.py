"""Forms of CRFs 6-8. Millimetres at the boundary, integer tenths inside (clinical-spec C4); meaning is checked by
the CRF service's edit checks (``crf_rules``), so a draft may be half-filled."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from crispy_forms.layout import Fieldset, Layout
from django import forms
from django.db.models import QuerySet

from patients.forms import CrfForm, DateInput
from patients.models import Visit

from . import selectors, services
from .domain.localisation import site_choices
from .domain.recist import NonTargetStatus, TargetStatus
from .models import (
    NEW_LESION_STATUS_CHOICES,
    NON_TARGET_STATUS_CHOICES,
    TARGET_STATUS_CHOICES,
    AssessmentRows,
    Lesion,
    LocalAblativeTreatment,
    NewLesion,
    NewLesionRow,
    NonTargetRow,
    TargetRow,
    TumourAssessment,
)

ISO_DATE = "%Y-%m-%d"
"""What an ``<input type="date">`` needs; the default en-gb format (dd/mm/yyyy) would show the field empty."""


def _iso_dates(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        if isinstance(field, forms.DateField) and isinstance(field.widget, forms.DateInput):
            field.widget.format = ISO_DATE


class MillimetreField(forms.DecimalField):
    """Entered and shown in millimetres with one decimal; cleaned to integer tenths of a millimetre."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 5)
        kwargs.setdefault("decimal_places", 1)
        kwargs.setdefault("min_value", Decimal(0))
        super().__init__(**kwargs)

    def clean(self, value: Any) -> int | None:
        millimetres = super().clean(value)
        return None if millimetres is None else int(millimetres * 10)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value // 10}.{value % 10}"
        return value


# CRF 6 --------------------------------------------------------------------------------------------------------


class LesionForm(CrfForm):
    baseline_tenths = MillimetreField(
        label="Baseline measurement (mm)",
        required=False,
        help_text="Longest diameter; short axis for a lymph node. One decimal.",
    )

    class Meta:
        model = Lesion
        fields = [
            "label",
            "site_code",
            "organ",
            "nodal",
            "measurable",
            "role",
            "baseline_tenths",
            "oligoprogressive",
            "locally_treated",
            "locally_treated_date",
            "first_seen_date",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _iso_dates(self)

    def clean_label(self) -> str:
        return str(self.cleaned_data.get("label") or "").strip().upper()

    def save_children(self, record: Any) -> None:
        services.lesion_saved(lesion=record)


# CRF 7 --------------------------------------------------------------------------------------------------------


class LocalAblativeTreatmentForm(CrfForm):
    takes_patient = True

    class Meta:
        model = LocalAblativeTreatment
        fields = [
            "lesion",
            "modality",
            "start_date",
            "total_dose_gy",
            "fractions",
            "end_date",
            "technique",
            "procedure",
            "margin",
            "approach",
        ]

    def __init__(self, *args: Any, patient: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _iso_dates(self)
        # Captured before validation changes the instance: a correction may move the treatment to another lesion.
        self.previous: services.Previous = (self.instance.lesion_id, self.instance.start_date)
        self.fields["lesion"].queryset = selectors.lesion_list(patient=patient)  # type: ignore[attr-defined]
        self.fields["lesion"].help_text = "A target lesion cannot be locally treated: make it a non-target first."
        self.helper.layout = Layout(
            "lesion",
            "modality",
            "start_date",
            Fieldset("SABR", "total_dose_gy", "fractions", "end_date", "technique"),
            Fieldset("Surgery", "procedure", "margin"),
            Fieldset("Radiofrequency ablation", "approach"),
            "version",
            "reason",
        )

    def save_children(self, record: Any) -> None:
        services.treatment_apply(treatment=record, previous=self.previous)


# CRF 8 --------------------------------------------------------------------------------------------------------


def _style(form: forms.BaseForm) -> None:
    _iso_dates(form)
    for field in form.fields.values():
        css = "form-select form-select-sm" if isinstance(field.widget, forms.Select) else "form-control form-control-sm"
        if not isinstance(field.widget, forms.CheckboxInput | forms.HiddenInput):
            field.widget.attrs.setdefault("class", css)


class _LesionRowForm(forms.Form):
    lesion = forms.ModelChoiceField(queryset=Lesion.objects.none(), widget=forms.HiddenInput)

    def __init__(self, *args: Any, lesions: QuerySet[Lesion], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["lesion"].queryset = lesions  # type: ignore[attr-defined]
        self._by_pk = {str(lesion.pk): lesion for lesion in lesions}
        _style(self)

    @property
    def lesion_display(self) -> str:
        value = self["lesion"].value()
        lesion = value if isinstance(value, Lesion) else self._by_pk.get(str(value))
        if lesion is None:
            return "—"
        treated = " · locally treated (regrowth = unequivocal progression)" if lesion.locally_treated else ""
        return f"{lesion}{treated}"


class TargetRowForm(_LesionRowForm):
    status = forms.ChoiceField(choices=[("", "—"), *TARGET_STATUS_CHOICES], required=False)
    diameter_tenths = MillimetreField(label="Diameter (mm)", required=False)
    scan_date = forms.DateField(required=False, widget=DateInput)


class NonTargetRowForm(_LesionRowForm):
    status = forms.ChoiceField(choices=[("", "—"), *NON_TARGET_STATUS_CHOICES], required=False)
    scan_date = forms.DateField(required=False, widget=DateInput)


class NewLesionRowForm(forms.Form):
    id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    site_code = forms.ChoiceField(label="Anatomical site", choices=[("", "—"), *site_choices()], required=False)
    status = forms.ChoiceField(choices=[("", "—"), *NEW_LESION_STATUS_CHOICES], required=False)
    scan_date = forms.DateField(required=False, widget=DateInput)
    confirms = forms.ModelChoiceField(
        label="Confirms the earlier equivocal finding", queryset=NewLesion.objects.none(), required=False
    )
    description = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, equivocal: QuerySet[NewLesion], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["confirms"].queryset = equivocal  # type: ignore[attr-defined]
        _style(self)


class RowFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    template_name = "lesions/_rows.html"
    title = ""
    help_text = ""
    empty_text = ""
    shows_lesion = True


class TargetFormSet(RowFormSet):
    title = "Target lesions"
    help_text = "Longest diameter; short axis for a lymph node (always its actual short axis, even under 10 mm)."
    empty_text = "No target lesion on the lesion register."


class NonTargetFormSet(RowFormSet):
    title = "Non-target lesions"
    empty_text = "No non-target lesion on the lesion register."


class NewLesionFormSet(RowFormSet):
    title = "New lesions"
    help_text = "A lesion not present at baseline. Link a later unequivocal finding to the equivocal one it confirms."
    shows_lesion = False


#: Rows one assessment may post per formset. Django's default (1,000, forms built up to 2,000) let one forged
#: ``TOTAL_FORMS`` make the server build and render 2,000 rows (half a minute, 7 MB); a register never has this many.
MAX_ROWS = 100

TargetRows = forms.formset_factory(
    TargetRowForm, formset=TargetFormSet, extra=0, max_num=MAX_ROWS, absolute_max=MAX_ROWS
)
NonTargetRows = forms.formset_factory(
    NonTargetRowForm, formset=NonTargetFormSet, extra=0, max_num=MAX_ROWS, absolute_max=MAX_ROWS
)
NewLesionRows = forms.formset_factory(
    NewLesionRowForm, formset=NewLesionFormSet, extra=2, can_delete=True, max_num=MAX_ROWS, absolute_max=MAX_ROWS
)


class TumourAssessmentForm(CrfForm):
    """The assessment with its rows: one per target and non-target of the register (pre-filled), and new lesions.

    ``clean`` turns valid rows into ``AssessmentRows`` and attaches them to the instance as ``_pending_rows`` so
    the edit checks see them before anything is written; ``save_children`` hands them to the service.
    """

    takes_patient = True
    default_scan_date = forms.DateField(
        label="Scan date", required=False, help_text="Used for every row below that has no scan date of its own."
    )

    class Meta:
        model = TumourAssessment
        fields = ["modality", "investigator_response"]

    def __init__(self, *args: Any, patient: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _iso_dates(self)
        self.patient = patient
        if self.instance.visit_id is None and self.is_bound and str(self.data.get("visit", "")).isdecimal():
            # The live preview builds an instance without its visit: the hidden field says which one it is.
            self.instance.visit = Visit.objects.filter(patient=patient, pk=int(self.data["visit"])).first()
        self._formsets: list[Any] | None = None
        self.pending_rows: AssessmentRows | None = None

    def child_formsets(self) -> list[Any]:
        if self._formsets is None:
            data = self.data if self.is_bound else None
            saved = selectors.rows_of(self.instance)
            targets = selectors.target_lesions(patient=self.patient)
            non_targets = selectors.non_target_lesions(patient=self.patient)
            saved_targets = {row.lesion.pk: row for row in saved.targets}
            saved_non_targets = {row.lesion.pk: row for row in saved.non_targets}
            target_initial = [
                {
                    "lesion": lesion.pk,
                    "status": getattr(saved_targets.get(lesion.pk), "status", ""),
                    "diameter_tenths": getattr(saved_targets.get(lesion.pk), "diameter_tenths", None),
                    "scan_date": getattr(saved_targets.get(lesion.pk), "scan_date", None),
                }
                for lesion in targets
            ]
            non_target_initial = [
                {
                    "lesion": lesion.pk,
                    "status": getattr(saved_non_targets.get(lesion.pk), "status", ""),
                    "scan_date": getattr(saved_non_targets.get(lesion.pk), "scan_date", None),
                }
                for lesion in non_targets
            ]
            new_initial = [
                {
                    "id": row.pk,
                    "site_code": row.site_code,
                    "status": row.status,
                    "scan_date": row.scan_date,
                    "confirms": row.confirms.pk if row.confirms else None,
                    "description": row.description,
                }
                for row in saved.new_lesions
            ]
            equivocal = selectors.equivocal_new_lesions(patient=self.patient, exclude=self.instance)
            self._formsets = [
                TargetRows(data, prefix="targets", initial=target_initial, form_kwargs={"lesions": targets}),
                NonTargetRows(
                    data, prefix="non_targets", initial=non_target_initial, form_kwargs={"lesions": non_targets}
                ),
                NewLesionRows(data, prefix="new_lesions", initial=new_initial, form_kwargs={"equivocal": equivocal}),
            ]
        return self._formsets

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        formsets = self.child_formsets()
        if all(formset.is_valid() for formset in formsets):
            self.pending_rows = self._rows(formsets, cleaned.get("default_scan_date"))
            self.instance._pending_rows = self.pending_rows
        return cleaned

    @staticmethod
    def _rows(formsets: list[Any], default_date: date | None) -> AssessmentRows:
        target_forms, non_target_forms, new_forms = formsets
        targets = []
        for form in target_forms:
            data = form.cleaned_data
            status = data.get("status") or (
                TargetStatus.MEASURED.value if data.get("diameter_tenths") is not None else ""
            )
            if not status:
                continue  # a row left empty is not given (completing needs every target)
            scan = data.get("scan_date") or (default_date if status != TargetStatus.NOT_EVALUATED else None)
            targets.append(TargetRow(data["lesion"], status, data.get("diameter_tenths"), scan))
        non_targets = []
        for form in non_target_forms:
            data = form.cleaned_data
            if not data.get("status"):
                continue
            scan = data.get("scan_date") or (default_date if data["status"] != NonTargetStatus.NOT_EVALUATED else None)
            non_targets.append(NonTargetRow(data["lesion"], data["status"], scan))
        new_lesions = []
        for form in new_forms:
            data = form.cleaned_data
            if not data or data.get("DELETE"):
                continue
            if not any(data.get(name) for name in ("status", "scan_date", "site_code", "confirms", "description")):
                continue
            new_lesions.append(
                NewLesionRow(
                    status=data.get("status") or "",
                    scan_date=data.get("scan_date"),
                    site_code=data.get("site_code") or "",
                    confirms=data.get("confirms"),
                    description=data.get("description") or "",
                    pk=data.get("id"),
                )
            )
        return AssessmentRows(tuple(targets), tuple(non_targets), tuple(new_lesions))

    def save_children(self, record: Any) -> None:
        services.assessment_rows_save(assessment=record, rows=self.pending_rows or AssessmentRows())


__all__ = ["LesionForm", "LocalAblativeTreatmentForm", "MillimetreField", "TumourAssessmentForm"]
