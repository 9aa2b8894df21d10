"""Shared by the ODM export tests: CDISC's ODM 1.3.2 schema (loaded offline from ``../shared``), a small two-trial
data set built through the real services, and helpers to run and read an export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from lxml import etree

from lesions.models import Lesion, TumourAssessment
from lesions.services import local_treatment_save
from outcomes.odm import odm_export_get
from patients import services
from patients.models import AdverseEvent, CtcaeTerm, Demographics, FactB, Patient, Visit

from ..conftest import Cast
from ..scenarios import CONSENT, Scenario, patient_ready_for_allocation, visit_done

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
SCHEMA_DIR = Path(settings.BASE_DIR).parent / "shared" / "data" / "odm-1.3.2"


class _OfflineResolver(etree.Resolver):
    """Refuse anything but the schema folder's own files: validation must never reach the network."""

    def resolve(self, url: str | None, pubid: str | None, context: Any) -> Any:
        if url and "://" in url and not url.startswith("file:"):
            raise AssertionError(f"the ODM schema tried to load {url}: validation must stay offline")
        return None


def load_odm_schema() -> etree.XMLSchema:
    path = SCHEMA_DIR / "ODM1-3-2.xsd"
    if not path.is_file():
        pytest.fail(
            f"CDISC's ODM 1.3.2 schema is missing: expected {path}. Check out the shared/ folder beside the repository "
            "(../shared/data/odm-1.3.2/, see its SOURCE.md)."
        )
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_OfflineResolver())
    return etree.XMLSchema(etree.parse(str(path), parser))


def assert_valid(schema: etree.XMLSchema, document: etree._ElementTree) -> None:
    if not schema.validate(document):
        errors = "\n".join(f"line {e.line}: {e.message}" for e in list(schema.error_log)[:20])
        raise AssertionError(f"not valid ODM 1.3.2:\n{errors}")


def export_document(user: Any, trial_code: str, **filters: Any) -> etree._ElementTree:
    chunk_size = filters.pop("chunk_size", 2)
    export = odm_export_get(user=user, trial_code=trial_code, **filters)
    data = b"".join(export.stream(chunk_size=chunk_size))
    return etree.ElementTree(etree.fromstring(data))


def xpath(node: Any, path: str) -> list[Any]:
    return node.xpath(path, namespaces=NS)  # type: ignore[no-any-return]


def subject_keys(document: etree._ElementTree) -> list[str]:
    return [str(key) for key in xpath(document, "//odm:SubjectData/@SubjectKey")]


def item_values(document: etree._ElementTree, subject: str, item_oid: str) -> list[str]:
    path = f"//odm:SubjectData[@SubjectKey='{subject}']//odm:ItemData[@ItemOID='{item_oid}']/@Value"
    return [str(value) for value in xpath(document, path)]


@dataclass
class TrialData:
    avatar: Scenario
    avatar_b: Patient
    cosmo: Scenario | None
    draft: Demographics
    adverse_event: AdverseEvent
    fact_b: FactB
    assessment: TumourAssessment


def build_trial_data(cast: Cast, *, cosmo: bool = True) -> TrialData:
    """AVATAR II: a site-A patient with lesions, a baseline and a follow-up assessment (with an equivocal new lesion),
    a draft demographics form, a FACT-B and an adverse event later corrected with a reason; a site-B patient
    enrolled. COSMO: a patient with lesions, assessments and a SABR treatment. Plus the cast's two bare patients."""
    avatar = Scenario(cast, trial="avatar2", origin=date(2025, 2, 3))
    avatar.baseline()
    assessment: TumourAssessment = avatar.assessment(84, 38.5, investigator="SD", new_lesion="EQUIVOCAL")
    coordinator = avatar.user
    screening = Visit.objects.get(patient=avatar.patient, definition__code="screening")
    draft: Any = services.crf_save(
        user=coordinator,
        model=Demographics,
        patient=avatar.patient,
        visit=screening,
        values={"ecog": 1, "primary_diagnosis_date": "2019-04"},
        complete=False,
    )
    fact_b: Any = services.crf_save(
        user=coordinator,
        model=FactB,
        patient=avatar.patient,
        visit=screening,
        values={"completion_date": CONSENT, "gp1": 3, "gp2": 0, "b1": 4},
        complete=True,
    )
    term = CtcaeTerm.objects.create(soc="Blood and lymphatic system disorders", term="Anemia", grade_1="a", grade_2="b")
    adverse_event: Any = services.crf_save(
        user=coordinator,
        model=AdverseEvent,
        patient=avatar.patient,
        values={
            "term": term,
            "grade": 1,
            "onset_date": date(2025, 5, 1),
            "resolution_date": date(2025, 5, 20),
            "attribution_cdk46_inhibitor": "probable",
            "attribution_disease": "unlikely",
            "outcome": "recovered",
            "action_taken": "interrupted",
        },
        complete=True,
    )
    adverse_event = services.crf_save(
        user=coordinator,
        model=AdverseEvent,
        patient=avatar.patient,
        instance=AdverseEvent.objects.get(pk=adverse_event.pk),
        values={"grade": 2},
        complete=True,
        reason="Haemoglobin nadir re-read: grade 2",
    )
    avatar_b = patient_ready_for_allocation(cast, site=cast.site_b, screening_number="B-0001")
    data = TrialData(avatar, avatar_b, None, draft, adverse_event, fact_b, assessment)
    if cosmo:
        data.cosmo = _cosmo_patient(cast)
    return data


def _cosmo_patient(cast: Cast) -> Scenario:
    cosmo = Scenario(cast, trial="cosmo", origin=date(2025, 2, 10))
    cosmo.baseline()
    cosmo.assessment(84, 41, investigator="SD")
    treated_on = cosmo.origin + timedelta(days=7)
    local_treatment_save(
        user=cosmo.user,
        patient=cosmo.patient,
        visit=visit_done(cosmo.user, cosmo.patient, "lat", treated_on),
        values={
            "lesion": Lesion.objects.get(pk=cosmo.non_target.pk),
            "modality": "sabr",
            "start_date": treated_on,
            "end_date": treated_on + timedelta(days=4),
            "total_dose_gy": Decimal("45.00"),
            "fractions": 3,
            "technique": "vmat",
        },
        complete=True,
    )
    return cosmo


# Reading a document back ----------------------------------------------------------------------------------------

Key = tuple[str | None, ...]


def _walk(document: etree._ElementTree) -> Any:
    """(element, key, inherited transaction type) for every clinical element, depth first, in document order."""
    levels = ("StudyEventData", "FormData", "ItemGroupData", "ItemData")
    keys = {
        "SubjectData": ("SubjectKey",),
        "StudyEventData": ("StudyEventOID", "StudyEventRepeatKey"),
        "FormData": ("FormOID", "FormRepeatKey"),
        "ItemGroupData": ("ItemGroupOID", "ItemGroupRepeatKey"),
        "ItemData": ("ItemOID",),
    }

    def visit(element: Any, prefix: Key, inherited: str | None, depth: int) -> Any:
        name = etree.QName(element).localname
        key = prefix + tuple(element.get(attribute) for attribute in keys[name])
        transaction = element.get("TransactionType") or inherited
        yield element, key, transaction
        if depth < len(levels):
            for child in xpath(element, f"odm:{levels[depth]}"):
                yield from visit(child, key, transaction, depth + 1)

    for subject in xpath(document, "//odm:SubjectData"):
        yield from visit(subject, (), None, 0)


def _flag(element: Any) -> str | None:
    values = xpath(element, "odm:Annotation/odm:Flag/odm:FlagValue/text()")
    return str(values[0]) if values else None


def snapshot_state(document: etree._ElementTree) -> dict[Key, str]:
    """Every value of a snapshot by its full key (subject, event, repeat, form, repeat, group, repeat, item); form
    statuses under (form key + ("STATUS",))."""
    state: dict[Key, str] = {}
    for element, key, _ in _walk(document):
        name = etree.QName(element).localname
        if name == "ItemData":
            state[key] = element.get("Value")
        elif name == "FormData" and _flag(element) is not None:
            state[(*key, "STATUS")] = _flag(element)  # type: ignore[assignment]
    return state


def replay_state(document: etree._ElementTree) -> dict[Key, str]:
    """Apply a transactional document's transactions in order (ODM 1.3.2, "Transaction Processing") and return the
    resulting state, in the shape of ``snapshot_state``."""
    state: dict[Key, str] = {}
    for element, key, transaction in _walk(document):
        name = etree.QName(element).localname
        if transaction == "Remove":
            for existing in [k for k in state if k[: len(key)] == key]:
                del state[existing]
            continue
        if name == "ItemData":
            state[key] = element.get("Value")
        elif name == "FormData" and _flag(element) is not None:
            state[(*key, "STATUS")] = _flag(element)  # type: ignore[assignment]
    return state
