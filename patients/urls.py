from django.urls import path

from .views import crfs, patients, queries, visits

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
]
