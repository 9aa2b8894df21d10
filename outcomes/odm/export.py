"""Selecting what a user may export and streaming it as one ODM 1.3.2 document.

``odm_export_get`` is the selector: it checks the capability, resolves the trial, the optional site and subject
filters inside the user's scope (404 otherwise, never a hint that something exists outside it) and returns an
``OdmExport`` whose ``stream()`` yields the document in byte chunks.

Streaming: lxml's incremental writer (``etree.xmlfile``) writes the root, the metadata and the AdminData, then the
ClinicalData one chunk of patients at a time (keyset pagination on the subject id, never a whole-trial list); each
chunk is read with a fixed number of queries (``snapshot.py`` / ``archive.py``) and flushed before the next is read.
Memory stays at one chunk of patients with their records, however large the trial. On PostgreSQL the whole stream
reads one consistent snapshot (a ``REPEATABLE READ, READ ONLY`` transaction), so a save during a long download can
neither tear a subject nor leave an audit record's user out of the AdminData written before it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from lxml import etree

from patients.models import Patient
from trials.models import Site, Trial
from trials.permissions import Capability, require
from trials.selectors import trial_get, trial_site_list

from .admin_data import admin_data_element, export_sites, export_users
from .archive import AuditContext, load_archive_chunk, subject_archive
from .elements import NSMAP, tag
from .metadata import build_metadata, oid_part, study_element
from .snapshot import load_snapshot_chunk, subject_snapshot

#: patients read and written per step; each step costs a fixed number of queries
CHUNK_SIZE = 100
ORIGINATOR = "COSMO / AVATAR II EDC"


class _Sink:
    """A file-like object collecting what the incremental writer flushes, handed out chunk by chunk."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self._parts.append(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


@contextmanager
def _consistent_read() -> Iterator[None]:
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


@dataclass(frozen=True)
class OdmExport:
    user: Any
    trial: Trial
    site: Site | None = None
    subject_id: str = ""
    audit: bool = False
    created: datetime = field(default_factory=timezone.now)

    @property
    def filename(self) -> str:
        parts = [self.trial.code, self.site.code if self.site else "", self.subject_id, "audit" if self.audit else ""]
        stem = "-".join(part for part in parts if part)
        return f"{stem}-odm-{self.created:%Y%m%dT%H%M%SZ}.xml"

    def patients(self) -> QuerySet[Patient]:
        patients = Patient.objects.for_user(self.user).filter(trial=self.trial)
        if self.site is not None:
            patients = patients.filter(site=self.site)
        if self.subject_id:
            patients = patients.filter(subject_id=self.subject_id)
        return patients

    def patient_chunks(self, size: int) -> Iterator[list[Patient]]:
        """The patients in subject-id order, ``size`` at a time (keyset pagination: no offset, no full list)."""
        last = ""
        while True:
            batch = list(
                self.patients().filter(subject_id__gt=last).select_related("site").order_by("subject_id")[:size]
            )
            if batch:
                yield batch
            if len(batch) < size:
                return
            last = batch[-1].subject_id

    def _granularity(self) -> str | None:
        if self.subject_id:
            return "SingleSubject"
        if self.site is not None:
            return "SingleSite"
        return "All" if self.user.site_ids() is None else None

    def _root_attributes(self) -> dict[str, str]:
        created = self.created.isoformat()
        attributes = {
            "FileType": "Transactional" if self.audit else "Snapshot",
            "Granularity": self._granularity(),
            "Archival": "Yes" if self.audit else None,
            "FileOID": f"ODM.{oid_part(self.trial.code)}.{self.created:%Y%m%dT%H%M%S}.{uuid.uuid4().hex[:8]}",
            "CreationDateTime": created,
            "AsOfDateTime": created,
            "ODMVersion": "1.3.2",
            "Originator": ORIGINATOR,
            "SourceSystem": ORIGINATOR,
            "Description": f"{self.trial.short_name} clinical data"
            + (" with its complete audit trail" if self.audit else " (current values)"),
        }
        return {key: value for key, value in attributes.items() if value is not None}

    def stream(self, *, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        sink = _Sink()
        with _consistent_read(), etree.xmlfile(sink, encoding="utf-8") as xf:
            xf.write_declaration()
            with xf.element(tag("ODM"), attrib=self._root_attributes(), nsmap=NSMAP):
                metadata = build_metadata(self.trial)
                xf.write(study_element(metadata), pretty_print=True)
                patients = self.patients()
                sites = export_sites(user=self.user, trial=self.trial, site=self.site, patients=patients)
                users, system_user = export_users(
                    user=self.user, metadata=metadata, patients=patients, audit=self.audit
                )
                admin = admin_data_element(
                    metadata=metadata, sites=sites, users=users, system_user=system_user, today=self.created.date()
                )
                xf.write(admin, pretty_print=True)
                xf.flush()
                yield sink.take()
                audit = AuditContext(roles={person.pk: person.role for person in users})
                clinical = {"StudyOID": metadata.study_oid, "MetaDataVersionOID": metadata.mdv_oid}
                with xf.element(tag("ClinicalData"), attrib=clinical):
                    for batch in self.patient_chunks(chunk_size):
                        if self.audit:
                            archive = load_archive_chunk(metadata=metadata, patients=batch)
                            for patient in batch:
                                subject = subject_archive(
                                    metadata=metadata, chunk=archive, patient=patient, audit=audit
                                )
                                xf.write(subject, pretty_print=True)
                        else:
                            snapshot = load_snapshot_chunk(metadata=metadata, user=self.user, patients=batch)
                            for patient in batch:
                                subject = subject_snapshot(metadata=metadata, chunk=snapshot, patient=patient)
                                xf.write(subject, pretty_print=True)
                        xf.flush()
                        yield sink.take()
        yield sink.take()


def odm_export_get(
    *, user: Any, trial_code: str, site_code: str = "", subject_id: str = "", audit: bool = False
) -> OdmExport:
    """The ODM export a user asked for, or 404: no capability, unknown trial, or a site or subject that is not the
    trial's or not in the user's scope (the same answer for all, so nothing outside the scope is revealed)."""
    require(user, Capability.EXPORT_CLINICAL_DATA)
    trial = trial_get(user=user, code=trial_code)
    site = None
    if site_code:
        trial_site = trial_site_list(user=user, trial=trial).filter(site__code=site_code).first()
        if trial_site is None:
            raise Http404(f"No site {site_code} takes part in {trial.short_name} within your sites.")
        site = trial_site.site
    export = OdmExport(user=user, trial=trial, site=site, subject_id=subject_id, audit=audit)
    if subject_id and not export.patients().exists():
        raise Http404(f"No subject {subject_id} in {trial.short_name} within your sites.")
    return export
