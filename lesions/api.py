"""Lesions, tumour assessments and local ablative treatments (CRFs 6-8) in the API.

They are case report forms like the others (``patients.api.crfs``: same fields, filters, paging and input
convention) but their writes go through this app's services, as the entry screens' do: ``lesion_save``
(the RECIST responses are recomputed from the register), ``local_treatment_save`` (the treated lesion is marked
locally treated, D5) and ``tumour_assessment_save`` (the rows are checked and written with the assessment, the
assessment is dated by its latest scan, D22, and every RECIST response of the patient is recomputed, clinical-spec C6).

A tumour assessment carries its rows: ``targets`` (one per target lesion of the register: status, diameter in
integer tenths of a millimetre, clinical-spec C4, scan date), ``non_targets`` and ``new_lesions``. Beside the
investigator's overall response it shows the computed RECIST 1.1 response and its working (read-only; rewritten on
every recompute). On an update, a row list that is sent replaces the saved rows of that list; a list left out keeps
them. A new-lesion row keeps its ``id`` to be edited in place (a row confirmed by a later assessment must stay).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from patients.api.crf_serializers import preload_scoped
from patients.api.crfs import (
    CrfFilter,
    CrfSerializer,
    CrfViewSet,
    ScopedRelatedField,
    crf_filterset,
    crf_serializers,
    crf_tag,
    document,
)
from patients.edit_checks import CheckContext, Finding, Severity
from patients.models import Patient
from trials import api_common

from . import services
from .crf_rules import ASSESSMENT_ROWS
from .domain.localisation import site_choices
from .models import (
    NEW_LESION_STATUS_CHOICES,
    NON_TARGET_STATUS_CHOICES,
    RESPONSE_LABELS,
    TARGET_STATUS_CHOICES,
    AssessmentRows,
    Lesion,
    LesionRole,
    LocalAblativeTreatment,
    Modality,
    NewLesion,
    NewLesionRow,
    NonTargetObservation,
    NonTargetRow,
    TargetMeasurement,
    TargetRow,
    TumourAssessment,
)
from .selectors import rows_of

ROW_LISTS = {"target_measurements": "targets", "non_target_observations": "non_targets", "new_lesions": "new_lesions"}


def _service_args(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in kwargs.items() if name != "data"}


# CRF 6: lesion register -------------------------------------------------------------------------------------------


class LesionFilter(CrfFilter):
    role = django_filters.ChoiceFilter(choices=LesionRole.choices, help_text="Target, non-target or new.")


class LesionLabelField(serializers.CharField):
    """The label as the entry form takes it: trimmed and upper-cased before it is checked ("t1" is T1)."""

    def __init__(self) -> None:
        field = Lesion._meta.get_field("label")
        super().__init__(
            required=False,
            allow_blank=True,
            max_length=field.max_length,
            validators=list(field.validators),
            help_text=str(field.help_text),
        )

    def to_internal_value(self, data: Any) -> str:
        return str(super().to_internal_value(data)).strip().upper()


@document
class LesionViewSet(CrfViewSet):
    """The patients' lesion registers (CRF 6); measurements in integer tenths of a millimetre."""

    model = Lesion
    serializer_class, update_serializer_class = crf_serializers(Lesion, extra={"label": LesionLabelField()})
    filterset_class = crf_filterset(Lesion, base=LesionFilter)
    schema_tags = [crf_tag(Lesion)]

    def save_record(self, **kwargs: Any) -> Lesion:
        if kwargs.pop("visit") is not None:
            raise DjangoValidationError(
                {"visit": "The lesion register is a patient-level record, not part of a visit."}
            )
        return services.lesion_save(**_service_args(kwargs))


# CRF 7: local ablative treatment ----------------------------------------------------------------------------------


class LocalTreatmentFilter(CrfFilter):
    modality = django_filters.ChoiceFilter(choices=Modality.choices, help_text="SABR, surgery or RFA.")


@document
class LocalTreatmentViewSet(CrfViewSet):
    """Local ablative treatments (CRF 7): SABR, surgery or RFA of one lesion, entered at the treatment visit."""

    model = LocalAblativeTreatment
    serializer_class, update_serializer_class = crf_serializers(LocalAblativeTreatment)
    filterset_class = crf_filterset(LocalAblativeTreatment, base=LocalTreatmentFilter)
    schema_tags = [crf_tag(LocalAblativeTreatment)]

    def save_record(self, **kwargs: Any) -> LocalAblativeTreatment:
        return services.local_treatment_save(**_service_args(kwargs))


# CRF 8: tumour assessment -----------------------------------------------------------------------------------------


class TargetRowSerializer(api_common.StrictInputMixin, serializers.Serializer[TargetMeasurement]):
    lesion = ScopedRelatedField(model=Lesion, help_text="A target lesion of the patient's register (its id).")
    lesion_label = serializers.CharField(source="lesion.label", read_only=True)
    status = serializers.ChoiceField(choices=TARGET_STATUS_CHOICES)
    diameter_tenths = serializers.IntegerField(
        min_value=0,
        max_value=99999,
        required=False,
        allow_null=True,
        help_text="Diameter in tenths of a millimetre (short axis for a node); only when measured.",
    )
    scan_date = serializers.DateField(required=False, allow_null=True, help_text="Needed unless not evaluated.")


class NonTargetRowSerializer(api_common.StrictInputMixin, serializers.Serializer[NonTargetObservation]):
    lesion = ScopedRelatedField(model=Lesion, help_text="A non-target lesion of the patient's register (its id).")
    lesion_label = serializers.CharField(source="lesion.label", read_only=True)
    status = serializers.ChoiceField(choices=NON_TARGET_STATUS_CHOICES)
    scan_date = serializers.DateField(required=False, allow_null=True, help_text="Needed unless not evaluated.")


class NewLesionRowSerializer(api_common.StrictInputMixin, serializers.Serializer[NewLesion]):
    id = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=api_common.MAX_KEY,
        help_text="A saved row of this assessment, to keep and edit it; leave out for a new row.",
    )
    status = serializers.ChoiceField(choices=NEW_LESION_STATUS_CHOICES)
    scan_date = serializers.DateField(required=False, allow_null=True)
    site_code = serializers.ChoiceField(choices=site_choices(), required=False, allow_blank=True)
    confirms = ScopedRelatedField(
        model=NewLesion,
        required=False,
        allow_null=True,
        help_text="The earlier equivocal finding (a new-lesion row id of an earlier assessment) this one confirms.",
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)


@extend_schema_field(serializers.CharField(allow_null=True))
class ResponseLabelField(serializers.Field[Any, Any, Any, Any]):
    def __init__(self, name: str, **kwargs: Any) -> None:
        self.response_field = name
        super().__init__(source="*", read_only=True, allow_null=True, **kwargs)

    def to_representation(self, value: TumourAssessment) -> str | None:
        return RESPONSE_LABELS.get(getattr(value, self.response_field)) or None


class TumourAssessmentRowsSerializer(CrfSerializer):
    """A tumour assessment with its rows; the rows' lesions must be the patient's, each once, of the right role."""

    targets = TargetRowSerializer(many=True, source="target_measurements", required=False)
    non_targets = NonTargetRowSerializer(many=True, source="non_target_observations", required=False)
    new_lesions = NewLesionRowSerializer(many=True, required=False)
    investigator_response_label = ResponseLabelField("investigator_response")
    computed_response_label = ResponseLabelField("computed_response")

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):  # every row's lesion in one query, not one per row
            lists = [data.get(name) for name in ("targets", "non_targets")]
            ids = [
                row.get("lesion") for rows in lists if isinstance(rows, list) for row in rows if isinstance(row, dict)
            ]
            targets: Any = self.fields["targets"]
            preload_scoped(self, targets.child.fields["lesion"], ids)
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        patient: Patient | None = attrs.get("patient") or getattr(self.instance, "patient", None)
        errors: dict[str, list[str]] = {}
        roles = {"target_measurements": LesionRole.TARGET, "non_target_observations": LesionRole.NON_TARGET}
        for source, role in roles.items():
            rows = attrs.get(source, [])
            name = ROW_LISTS[source]
            lesions = Counter(row["lesion"].pk for row in rows)
            for n, row in enumerate(rows, start=1):
                lesion: Lesion = row["lesion"]
                if patient is not None and lesion.patient_id != patient.pk:
                    errors.setdefault(name, []).append(f"row {n}: lesion {lesion.pk} is another patient's.")
                elif lesion.role != role:
                    errors.setdefault(name, []).append(
                        f"row {n}: {lesion.label or lesion.pk} is not a {role.label.lower()} lesion on the register."
                    )
                elif lesions[lesion.pk] > 1:
                    errors.setdefault(name, []).append(f"row {n}: {lesion.label} is given more than once.")
        for n, row in enumerate(attrs.get("new_lesions", []), start=1):
            earlier = row.get("confirms")
            if earlier is not None and patient is not None and earlier.assessment.patient_id != patient.pk:
                errors.setdefault("new_lesions", []).append(f"row {n}: confirms a finding of another patient.")
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class TumourAssessmentFilter(CrfFilter):
    modified_since = api_common.modified_since_filter(method="filter_modified_since")

    def filter_modified_since(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        """Saved since, or its computed response rewritten since (a recompute changes it without a save)."""
        return queryset.filter(Q(updated_at__gte=value) | Q(computed_at__gte=value))


def rows_from(data: dict[str, Any], instance: TumourAssessment | None) -> AssessmentRows:
    """The rows to save: each list sent replaces the saved one; a list left out keeps the saved rows."""
    saved = rows_of(instance) if instance is not None else AssessmentRows()
    targets = saved.targets
    if "target_measurements" in data:
        targets = tuple(
            TargetRow(row["lesion"], row["status"], row.get("diameter_tenths"), row.get("scan_date"))
            for row in data["target_measurements"]
        )
    non_targets = saved.non_targets
    if "non_target_observations" in data:
        non_targets = tuple(
            NonTargetRow(row["lesion"], row["status"], row.get("scan_date")) for row in data["non_target_observations"]
        )
    new_lesions = saved.new_lesions
    if "new_lesions" in data:
        new_lesions = tuple(
            NewLesionRow(
                status=row["status"],
                scan_date=row.get("scan_date"),
                site_code=row.get("site_code") or "",
                confirms=row.get("confirms"),
                description=row.get("description") or "",
                pk=row.get("id"),
            )
            for row in data["new_lesions"]
        )
    return AssessmentRows(targets, non_targets, new_lesions)


def _saved_rows(record: TumourAssessment) -> AssessmentRows:
    """``rows_of(record)`` from the rows the read-back prefetched (``TumourAssessmentViewSet.get_queryset``: the
    same rows in the same order, with their lesions), so they are not read twice."""
    cache = getattr(record, "_prefetched_objects_cache", {})
    if not all(name in cache for name in ROW_LISTS):
        return rows_of(record)
    return AssessmentRows(
        targets=tuple(
            TargetRow(row.lesion, row.status, row.diameter_tenths, row.scan_date)
            for row in record.target_measurements.all()
        ),
        non_targets=tuple(
            NonTargetRow(row.lesion, row.status, row.scan_date) for row in record.non_target_observations.all()
        ),
        new_lesions=tuple(
            NewLesionRow(row.status, row.scan_date, row.site_code, row.confirms, row.description, row.pk)
            for row in record.new_lesions.all()
        ),
    )


@document
class TumourAssessmentViewSet(CrfViewSet):
    """Tumour assessments (CRF 8) with their rows, the investigator's response and the computed RECIST 1.1
    response beside it."""

    model = TumourAssessment
    serializer_class, update_serializer_class = crf_serializers(
        TumourAssessment,
        base=TumourAssessmentRowsSerializer,
        extra_names=["investigator_response_label", "computed_response_label", *ROW_LISTS.values()],
    )
    filterset_class = crf_filterset(TumourAssessment, base=TumourAssessmentFilter)
    schema_tags = [crf_tag(TumourAssessment)]

    def get_queryset(self) -> QuerySet[Any]:
        return (
            super()
            .get_queryset()
            .prefetch_related(
                Prefetch(
                    "target_measurements",
                    queryset=TargetMeasurement.objects.select_related("lesion").order_by("lesion__label", "pk"),
                ),
                Prefetch(
                    "non_target_observations",
                    queryset=NonTargetObservation.objects.select_related("lesion").order_by("lesion__label", "pk"),
                ),
                Prefetch("new_lesions", queryset=NewLesion.objects.order_by("pk")),
            )
        )

    #: the check context of the rows saved by this request (``services.ROWS_CHECK_CONTEXT``), for ``warnings``
    _saved_rows_context: CheckContext | None = None

    def save_record(self, **kwargs: Any) -> TumourAssessment:
        rows = rows_from(kwargs["data"], kwargs["instance"])
        saved = services.tumour_assessment_save(rows=rows, **_service_args(kwargs))
        self._saved_rows_context = getattr(saved, services.ROWS_CHECK_CONTEXT, None)
        return saved

    def warnings(self, record: Any) -> list[Finding]:
        findings = super().warnings(record)
        record._pending_rows = _saved_rows(record)
        context = CheckContext(patient=record.patient, today=timezone.localdate(), completing=record.is_complete)
        saved = self._saved_rows_context
        if saved is not None and saved.patient.pk == record.patient_id and not record.is_baseline:
            # The save's checks read the patient's lesion register, first local treatment and baseline scan date
            # moments ago, inside its transaction; a follow-up assessment's save writes none of them, so the
            # checks of the saved rows read the same. (A baseline assessment's save moves the baseline scan date:
            # its checks read everything again.)
            context._cache.update(saved._cache)
        findings += [f for f in ASSESSMENT_ROWS.run(record, context) if f.severity == Severity.WARNING]
        if record.response_differs:
            computed = RESPONSE_LABELS.get(record.computed_response, record.computed_response)
            investigator = RESPONSE_LABELS.get(record.investigator_response, record.investigator_response)
            findings.append(
                Finding(
                    "investigator_response",
                    f"The computed RECIST 1.1 response is {computed}; the investigator's is {investigator}: "
                    "a query is open.",
                    "discrepancy",
                    Severity.WARNING,
                )
            )
        return findings


__all__ = ["LesionViewSet", "LocalTreatmentViewSet", "TumourAssessmentViewSet"]
