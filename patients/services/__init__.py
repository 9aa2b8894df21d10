"""Writes of patient data. Every web view, API view, import and task calls these (STYLE.md rule 3)."""

from .crfs import crf_save
from .patients import EditConflict, patient_register, patient_update, subject_id_for
from .queries import queries_sync_automatic, query_answer, query_close, query_raise, query_reopen
from .visits import unscheduled_visit_add, visit_record

__all__ = [
    "EditConflict",
    "crf_save",
    "patient_register",
    "patient_update",
    "queries_sync_automatic",
    "query_answer",
    "query_close",
    "query_raise",
    "query_reopen",
    "subject_id_for",
    "unscheduled_visit_add",
    "visit_record",
]
