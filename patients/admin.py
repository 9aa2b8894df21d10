from django.contrib import admin

from trials.admin import ReadOnlyAdmin

from .models import Patient


@admin.register(Patient)
class PatientAdmin(ReadOnlyAdmin):
    """Read-only: data is entered through the casebook, never through the admin."""

    list_display = ["subject_id", "trial", "site", "status", "consent_date", "enrolment_date"]
    list_filter = ["trial", "site", "status"]
    search_fields = ["subject_id", "screening_number"]
