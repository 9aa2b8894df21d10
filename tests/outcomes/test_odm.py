"""The CDISC ODM 1.3.2 export: valid against CDISC's schema (offline), values that round-trip to the database, stable
and resolvable OIDs, the user's scope, and a document that streams chunk by chunk."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from lxml import etree

from lesions.models import LocalAblativeTreatment, TargetMeasurement
from outcomes.odm import odm_export_get
from patients.models import Patient, Visit
from trials.models import Role
from trials.permissions import ROLE_CAPABILITIES, Capability

from ..conftest import Cast
from ..factories import PatientFactory
from ..real_services import require_postgres
from ..scenarios import patient_ready_for_allocation
from .odm_support import (
    TrialData,
    assert_valid,
    build_trial_data,
    export_document,
    item_values,
    load_odm_schema,
    subject_keys,
    xpath,
)


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return load_odm_schema()


@pytest.fixture
def data(cast: Cast) -> TrialData:
    return build_trial_data(cast)


@pytest.fixture
def avatar_only(cast: Cast) -> TrialData:
    """The AVATAR II part of the data only (quicker, for tests that read one trial)."""
    return build_trial_data(cast, cosmo=False)


def statistician(cast: Cast) -> Any:
    return cast.user(Role.STATISTICIAN)


DEFINED = ("StudyEventDef", "FormDef", "ItemGroupDef", "ItemDef", "CodeList", "MeasurementUnit", "Location", "User")
REFERENCES = {
    "StudyEventOID": "StudyEventDef",
    "FormOID": "FormDef",
    "ItemGroupOID": "ItemGroupDef",
    "ItemOID": "ItemDef",
    "CodeListOID": "CodeList",
    "MeasurementUnitOID": "MeasurementUnit",
    "LocationOID": "Location",
    "UserOID": "User",
}


def assert_oids_unique_and_resolved(document: etree._ElementTree) -> None:
    """The schema checks OID uniqueness only inside a MetaDataVersion and none of the references: this does."""
    defined: dict[str, set[str]] = {}
    for name in DEFINED:
        oids = [str(oid) for oid in xpath(document, f"//odm:{name}/@OID")]
        duplicates = [oid for oid, count in Counter(oids).items() if count > 1]
        assert not duplicates, f"duplicate {name} OIDs: {duplicates}"
        defined[name] = set(oids)
    for attribute, name in REFERENCES.items():
        used = {str(oid) for oid in xpath(document, f"//@{attribute}")}
        assert used <= defined[name], f"{attribute} without a {name}: {sorted(used - defined[name])}"
    # the data follows the metadata: each form in a study event that lists it, each item in a group that lists it
    refs = {
        (parent.get("OID"), ref.get(attribute))
        for kind, attribute in (("StudyEventDef", "FormOID"), ("ItemGroupDef", "ItemOID"))
        for parent in xpath(document, f"//odm:{kind}")
        for ref in xpath(parent, "odm:*[@" + attribute + "]")
    }
    for form in xpath(document, "//odm:FormData"):
        assert (form.getparent().get("StudyEventOID"), form.get("FormOID")) in refs
    for item in xpath(document, "//odm:ItemData"):
        assert (item.getparent().get("ItemGroupOID"), item.get("ItemOID")) in refs
    # coded values come from their code list
    allowed = {
        codelist.get("OID"): {str(v) for v in xpath(codelist, "odm:CodeListItem/@CodedValue")}
        for codelist in xpath(document, "//odm:CodeList[odm:CodeListItem]")
    }
    coded = {
        item.get("OID"): xpath(item, "odm:CodeListRef/@CodeListOID")[0]
        for item in xpath(document, "//odm:ItemDef[odm:CodeListRef]")
    }
    for item in xpath(document, "//odm:ItemData[@Value]"):
        codelist = coded.get(item.get("ItemOID"))
        if codelist in allowed:
            assert item.get("Value") in allowed[codelist], (item.get("ItemOID"), item.get("Value"))


@pytest.mark.parametrize("trial", ["avatar2", "cosmo"])
@pytest.mark.parametrize("audit", [False, True], ids=["snapshot", "audit"])
def test_the_export_of_each_trial_is_valid_odm_1_3_2_with_unique_resolving_oids(
    cast: Cast, data: TrialData, schema: etree.XMLSchema, trial: str, audit: bool
) -> None:
    document = export_document(statistician(cast), trial, audit=audit)
    assert_valid(schema, document)
    assert document.getroot().get("FileType") == ("Transactional" if audit else "Snapshot")
    expected = Patient.objects.filter(trial__code=trial).order_by("subject_id").values_list("subject_id", flat=True)
    assert subject_keys(document) == list(expected)
    assert_oids_unique_and_resolved(document)


def test_values_round_trip_to_the_database(cast: Cast, data: TrialData) -> None:
    document = export_document(statistician(cast), "avatar2")
    subject = data.avatar.patient.subject_id
    draft, ae, fact_b = data.draft, data.adverse_event, data.fact_b
    assert item_values(document, subject, "IT.DEMOGRAPHICS.ECOG") == [str(draft.ecog)]
    assert item_values(document, subject, "IT.DEMOGRAPHICS.PRIMARY_DIAGNOSIS_DATE") == [draft.primary_diagnosis_date]
    assert item_values(document, subject, "IT.FACT_B.GP1") == [str(fact_b.gp1)]
    assert item_values(document, subject, "IT.FACT_B.COMPLETION_DATE") == [fact_b.completion_date.isoformat()]
    assert item_values(document, subject, "IT.ADVERSE_EVENT.GRADE") == [str(ae.grade)]
    assert item_values(document, subject, "IT.ADVERSE_EVENT.TERM") == [ae.term.term]
    assert item_values(document, subject, "IT.ADVERSE_EVENT.ONGOING") == ["false"]
    diameters = TargetMeasurement.objects.filter(assessment__patient=data.avatar.patient).order_by("pk")
    assert item_values(document, subject, "IT.TUMOUR_ASSESSMENT.TARGET.DIAMETER_MM") == [
        f"{row.diameter_tenths / 10:.1f}" for row in diameters
    ]
    follow_up = Visit.objects.get(patient=data.avatar.patient, definition__code="follow-up")
    path = (
        f"//odm:SubjectData[@SubjectKey='{subject}']/odm:StudyEventData[@StudyEventOID='SE.FOLLOW_UP']"
        f"[@StudyEventRepeatKey='{follow_up.occurrence}']//odm:ItemData[@ItemOID='IT.VISIT.VISIT_DATE']/@Value"
    )
    assert xpath(document, path) == [follow_up.visit_date.isoformat()]
    checklist_confirmer = data.avatar.investigator.pk
    assert item_values(document, subject, "IT.ELIGIBILITY_AVATAR2.CONFIRMED_BY") == [f"U.{checklist_confirmer}"]

    cosmo = export_document(statistician(cast), "cosmo")
    assert data.cosmo is not None
    treatment = LocalAblativeTreatment.objects.get(patient=data.cosmo.patient)
    treated = data.cosmo.patient.subject_id
    assert item_values(cosmo, treated, "IT.LOCAL_TREATMENT.TOTAL_DOSE_GY") == [str(treatment.total_dose_gy)]
    assert item_values(cosmo, treated, "IT.LOCAL_TREATMENT.LESION") == [str(treatment.lesion_id)]
    lesion_form = xpath(cosmo, f"//odm:FormData[@FormOID='F.LESION'][@FormRepeatKey='{treatment.lesion_id}']")
    assert xpath(lesion_form[0], ".//odm:ItemData[@ItemOID='IT.LESION.LOCALLY_TREATED']/@Value") == ["true"]


def test_a_draft_form_is_flagged_draft_and_a_complete_one_complete(cast: Cast, avatar_only: TrialData) -> None:
    document = export_document(statistician(cast), "avatar2")

    def flag(form_oid: str, key: int) -> list[str]:
        form = f"//odm:FormData[@FormOID='{form_oid}'][@FormRepeatKey='{key}']"
        return [str(v) for v in xpath(document, f"{form}/odm:Annotation/odm:Flag/odm:FlagValue/text()")]

    assert flag("F.DEMOGRAPHICS", avatar_only.draft.pk) == ["draft"]
    assert flag("F.FACT_B", avatar_only.fact_b.pk) == ["complete"]


# Scope and permissions ------------------------------------------------------------------------------------------


def test_a_site_scoped_role_given_the_capability_exports_only_its_sites(
    cast: Cast, avatar_only: TrialData, monkeypatch: pytest.MonkeyPatch
) -> None:
    monitor = cast.user(Role.MONITOR)  # site A only
    monkeypatch.setitem(
        ROLE_CAPABILITIES, Role.MONITOR, ROLE_CAPABILITIES[Role.MONITOR] | {Capability.EXPORT_CLINICAL_DATA}
    )
    for audit in (False, True):
        document = export_document(monitor, "avatar2", audit=audit)
        keys = subject_keys(document)
        assert keys and all(key.startswith("AVT2-NL01-") for key in keys)
        assert keys == subject_keys(export_document(cast.user(Role.DATA_MANAGER), "avatar2", site_code="NL01"))
        assert {str(oid) for oid in xpath(document, "//odm:Location/@OID")} == {"LOC.NL01", "LOC.SPONSOR"}
        assert document.getroot().get("Granularity") is None  # not the whole trial, nor one site by request
    with pytest.raises(Http404):
        odm_export_get(user=monitor, trial_code="avatar2", site_code="BE01")
    with pytest.raises(Http404):
        odm_export_get(user=monitor, trial_code="avatar2", subject_id=avatar_only.avatar_b.subject_id)


def test_all_site_roles_see_every_site_and_may_filter(cast: Cast, avatar_only: TrialData) -> None:
    manager = cast.user(Role.DATA_MANAGER)
    everything = subject_keys(export_document(manager, "avatar2"))
    assert {key.split("-")[1] for key in everything} == {"NL01", "BE01"}
    site_b = export_document(manager, "avatar2", site_code="BE01")
    assert subject_keys(site_b) == [key for key in everything if "-BE01-" in key]
    assert site_b.getroot().get("Granularity") == "SingleSite"
    one = export_document(manager, "avatar2", subject_id=avatar_only.avatar_b.subject_id, audit=True)
    assert subject_keys(one) == [avatar_only.avatar_b.subject_id]
    assert one.getroot().get("Granularity") == "SingleSubject"


@pytest.mark.parametrize("filters", [{"site_code": "FR01"}, {"subject_id": "AVT2-NL01-9999"}, {"trial_code": "x"}])
def test_an_unknown_trial_site_or_subject_answers_404(cast: Cast, filters: dict[str, str]) -> None:
    with pytest.raises(Http404):
        odm_export_get(user=cast.user(Role.DATA_MANAGER), **{"trial_code": "avatar2", **filters})


@pytest.mark.parametrize("role", [r for r in Role if Capability.EXPORT_CLINICAL_DATA not in ROLE_CAPABILITIES[r]])
def test_roles_without_the_capability_get_404(cast: Cast, role: Role) -> None:
    with pytest.raises(Http404):
        odm_export_get(user=cast.user(role), trial_code="avatar2")


def test_no_personal_data_leaves_in_the_export(cast: Cast, avatar_only: TrialData) -> None:
    document = export_document(statistician(cast), "avatar2", audit=True)
    text = etree.tostring(document).decode()
    for element in ("FirstName", "LastName", "FullName", "Email", "Phone", "Address"):
        assert not xpath(document, f"//odm:User/odm:{element}")
    for patient in Patient.objects.filter(trial__code="avatar2"):
        assert patient.screening_number not in text
    coordinator = avatar_only.avatar.user
    login = xpath(document, f"//odm:User[@OID='U.{coordinator.pk}']/odm:LoginName/text()")
    assert login == [coordinator.username]


# Streaming --------------------------------------------------------------------------------------------------------


def test_the_document_streams_before_the_patients_are_read(cast: Cast, avatar_only: TrialData) -> None:
    stream = odm_export_get(user=statistician(cast), trial_code="avatar2").stream(chunk_size=1)
    with CaptureQueriesContext(connection) as header_queries:
        header = next(stream)
    assert b"<AdminData" in header and b"<SubjectData" not in header
    assert not [q for q in header_queries if 'FROM "patients_visit"' in q["sql"]]
    with CaptureQueriesContext(connection) as chunk_queries:
        first = next(stream)
    assert first.count(b"<SubjectData") == 1
    patient_reads = [q["sql"] for q in chunk_queries if 'FROM "patients_patient"' in q["sql"] and "LIMIT 1" in q["sql"]]
    assert len(patient_reads) == 1  # one patient read, not the trial
    rest = b"".join(stream)
    assert (header + first + rest).count(b"<SubjectData") == Patient.objects.filter(trial__code="avatar2").count()


def _queries(user: Any, chunk_size: int, audit: bool) -> int:
    export = odm_export_get(user=user, trial_code="avatar2", audit=audit)
    with CaptureQueriesContext(connection) as queries:
        b"".join(export.stream(chunk_size=chunk_size))
    return len(queries)


@pytest.mark.parametrize("audit", [False, True], ids=["snapshot", "audit"])
def test_queries_grow_with_chunks_not_with_records(cast: Cast, avatar_only: TrialData, audit: bool) -> None:
    user = statistician(cast)
    patients = Patient.objects.filter(trial__code="avatar2").count()
    one_chunk, per_patient = _queries(user, 100, audit), _queries(user, 1, audit)
    # one chunk per patient: P - 1 more chunks, and one more (empty) read of patients that ends the stream
    per_chunk, remainder = divmod(per_patient - one_chunk - 1, patients - 1)
    assert remainder == 0 and per_chunk > 0
    more = build_more_records(cast, avatar_only)
    assert _queries(user, 100, audit) == one_chunk  # more records and patients, same single chunk
    assert _queries(user, 1, audit) == per_patient + more * per_chunk


def build_more_records(cast: Cast, data: TrialData) -> int:
    """Two more AVATAR II patients with forms, and more records for an existing one; returns the patients added."""
    for number in (2, 3):
        patient_ready_for_allocation(cast, site=cast.site_b, screening_number=f"B-000{number}")
    data.avatar.assessment(168, 39, investigator="SD")
    return 2


@pytest.mark.postgres
def test_on_postgresql_the_stream_reads_one_consistent_snapshot(transactional_db: None, cast: Cast) -> None:
    """A patient registered while the export streams is not half in it: the export reads one REPEATABLE READ,
    READ ONLY snapshot, opened before the first byte and closed with the stream."""
    require_postgres()
    stream = odm_export_get(user=statistician(cast), trial_code="avatar2").stream(chunk_size=1)
    header = next(stream)
    with connection.cursor() as cursor:
        cursor.execute("SHOW transaction_isolation")
        isolation = cursor.fetchone()[0]
        cursor.execute("SHOW transaction_read_only")
        read_only = cursor.fetchone()[0]
    assert (isolation, read_only) == ("repeatable read", "on")

    def register_elsewhere() -> None:
        try:
            PatientFactory(trial=cast.avatar2, site=cast.site_a, sequence=99)
        finally:
            connection.close()

    thread = threading.Thread(target=register_elsewhere)
    thread.start()
    thread.join()
    assert Patient.objects.using("default").filter(sequence=99).exists() is False  # still our snapshot
    document = header + b"".join(stream)
    assert b"AVT2-NL01-0099" not in document
    assert not connection.in_atomic_block
    assert Patient.objects.filter(sequence=99).exists()
