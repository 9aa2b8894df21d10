"""Audit integrity, exports and the sign-in log; mounted at /audit/ by the root URLs (namespace ``audit``).

The per-record audit page stays at ``audit/<model_label>/<pk>/`` (root URLs); these paths never collide with it.
"""

from django.urls import path

from . import views_audit

app_name = "audit"

urlpatterns = [
    path("integrity/", views_audit.audit_integrity, name="integrity"),
    path("integrity/verify/", views_audit.audit_integrity_verify, name="integrity_verify"),
    path("export/", views_audit.audit_export, name="export"),
    path("export/<str:model_label>/<int:pk>/", views_audit.audit_export_record, name="export_record"),
    path("sign-ins/", views_audit.sign_in_events, name="sign_ins"),
]
