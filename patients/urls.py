from django.urls import path

from .views import crfs, oversight, patients, queries, visits

app_name = "patients"

urlpatterns = [
    path("", patients.patient_list, name="list"),
    path("register/", patients.patient_register, name="register"),
    path("queries/", queries.query_list, name="query_list"),
    path("queries/<int:pk>/", queries.query_detail, name="query_detail"),
    path("<str:subject_id>/", patients.patient_detail, name="detail"),
    path("<str:subject_id>/edit/", patients.patient_update, name="update"),
    path("<str:subject_id>/visits/unscheduled/", visits.unscheduled_visit_add, name="visit_unscheduled"),
    path("<str:subject_id>/visits/<int:definition_id>/<int:occurrence>/", visits.visit_record, name="visit_record"),
    path("<str:subject_id>/forms/<slug:code>/new/", crfs.crf_entry, name="crf_new"),
    path("<str:subject_id>/forms/<slug:code>/preview/", crfs.crf_preview, name="crf_preview"),
    path("<str:subject_id>/forms/<slug:code>/<int:pk>/", crfs.crf_entry, name="crf_edit"),
    path("<str:subject_id>/forms/<slug:code>/<int:pk>/query/", crfs.crf_query_raise, name="crf_query_raise"),
    # Oversight (issue 8): source data verification, signatures, locks and the trial's data state
    path("oversight/trials/<slug:code>/", oversight.oversight_trial, name="oversight_trial"),
    path("oversight/trials/<slug:code>/data-state/", oversight.trial_data_state, name="trial_data_state"),
    path("oversight/trials/<slug:code>/signatures/", oversight.signature_manifest, name="signature_manifest"),
    path("oversight/trials/<slug:code>/sites/<str:site_code>/lock/", oversight.site_lock, name="site_lock"),
    path("<str:subject_id>/sdv/", oversight.sdv, name="sdv"),
    path("<str:subject_id>/sign/", oversight.sign_casebook, name="sign_casebook"),
    path("<str:subject_id>/lock/", oversight.patient_lock, name="patient_lock"),
    path("<str:subject_id>/visits/<int:visit_id>/sign/", oversight.sign_visit, name="sign_visit"),
    path("<str:subject_id>/forms/<slug:code>/<int:pk>/sign/", oversight.sign_form, name="sign_form"),
    path("<str:subject_id>/forms/<slug:code>/<int:pk>/lock/", oversight.crf_lock, name="crf_lock"),
]
