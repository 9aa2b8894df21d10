"""The audit export (``audit=1``): every change as an ODM transaction with who, where, when and why, in an order
that replays to the current values."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lesions.models import AssessmentRows, NewLesion, NonTargetRow, TargetRow, TumourAssessment
from lesions.services import tumour_assessment_save
from patients.models import AdverseEvent
from trials.models import Role

from ..conftest import Cast
from .odm_support import TrialData, build_trial_data, export_document, replay_state, snapshot_state, xpath


@pytest.fixture
def avatar_only(cast: Cast) -> TrialData:
    return build_trial_data(cast, cosmo=False)


def test_a_correction_carries_its_user_site_time_and_reason(cast: Cast, avatar_only: TrialData) -> None:
    document = export_document(cast.user(Role.DATA_MANAGER), "avatar2", audit=True)
    assert document.getroot().get("Archival") == "Yes"
    event = avatar_only.adverse_event
    update = xpath(document, f"//odm:FormData[@FormOID='F.ADVERSE_EVENT'][@FormRepeatKey='{event.pk}']")
    assert [form.get("TransactionType") for form in update] == ["Insert", "Update"]
    history = list(AdverseEvent.history.filter(id=event.pk).order_by("history_date"))  # type: ignore[attr-defined]
    audit = update[1].find("{*}AuditRecord")
    assert xpath(audit, "odm:UserRef/@UserOID") == [f"U.{history[1].history_user_id}"]
    assert xpath(audit, "odm:LocationRef/@LocationOID") == ["LOC.NL01"]
    assert xpath(audit, "odm:DateTimeStamp/text()") == [history[1].history_date.isoformat()]
    assert xpath(audit, "odm:ReasonForChange/text()") == [history[1].history_change_reason]
    assert xpath(audit, "odm:SourceID/text()") == [f"patients.historicaladverseevent:{history[1].history_id}"]
    changed = [
        (item.get("ItemOID"), item.get("TransactionType"), item.get("Value")) for item in update[1].iter("{*}ItemData")
    ]
    assert changed == [("IT.ADVERSE_EVENT.GRADE", "Update", str(event.grade))]


def test_replaying_the_transactions_gives_the_snapshot(cast: Cast, avatar_only: TrialData) -> None:
    """Insert, update, status change, rows added, changed and deleted: the audit file replays to the current state."""
    scenario = avatar_only.avatar
    assessment = TumourAssessment.objects.get(pk=avatar_only.assessment.pk)
    on = scenario.origin + timedelta(days=84)
    tumour_assessment_save(
        user=scenario.user,
        patient=scenario.patient,
        visit=assessment.visit,
        instance=assessment,
        values={"investigator_response": "PR"},
        rows=AssessmentRows(
            targets=(TargetRow(scenario.target, "MEASURED", 270, on),),
            non_targets=(NonTargetRow(scenario.non_target, "PRESENT", on),),
        ),
        complete=True,
        reason="Target re-measured; the new lesion was a scanning artefact",
    )
    assert not NewLesion.objects.filter(assessment=assessment).exists()
    user = cast.user(Role.STATISTICIAN)
    archive = export_document(user, "avatar2", audit=True)
    removed = xpath(archive, "//odm:ItemGroupData[@ItemGroupOID='IG.TUMOUR_ASSESSMENT.NEW_LESION']/@TransactionType")
    assert removed == ["Insert", "Remove"]
    snapshot = snapshot_state(export_document(user, "avatar2"))
    assert len(snapshot) > 100
    assert replay_state(archive) == snapshot
    # (subject, event, repeat, form, repeat, group, repeat, item): the corrected diameter is the current one
    diameters = [
        value
        for key, value in snapshot.items()
        if key[3:5] == ("F.TUMOUR_ASSESSMENT", str(assessment.pk)) and key[-1].endswith("TARGET.DIAMETER_MM")
    ]
    assert diameters == ["27.0"]


def test_every_transaction_has_an_audit_record(cast: Cast, avatar_only: TrialData) -> None:
    """CDISC's rule for transactional files: an element that states a transaction type (other than Context) has its
    own AuditRecord, or inherits its parent's transaction (and its AuditRecord) by stating none."""
    document = export_document(cast.user(Role.SPONSOR_ADMIN), "avatar2", audit=True)
    stated = xpath(document, "//odm:*[@TransactionType][not(self::odm:ItemData)][@TransactionType!='Context']")
    assert stated
    assert all(element.find("{*}AuditRecord") is not None for element in stated)
    upsert = xpath(document, "//@TransactionType[.='Upsert']")
    assert not upsert  # an archival file has no Upsert
