"""Randomisation screens (mounted at ``randomisation/``) and the patients API (mounted at ``api/v1/``)."""

from django.urls import path

from . import api
from .views import randomisation as views

app_name = "randomisation"

urlpatterns = [
    path("trials/<slug:code>/", views.trial_randomisation, name="trial"),
    path("trials/<slug:code>/lists/new/", views.allocation_list_generate, name="list_generate"),
    path("trials/<slug:code>/lists/<int:version>/", views.allocation_list_detail, name="list_detail"),
    path("trials/<slug:code>/lists/<int:version>/verify/", views.allocation_list_verify, name="list_verify"),
    path("trials/<slug:code>/balance/", views.balance_report, name="balance"),
    path("patients/<str:subject_id>/", views.randomise, name="randomise"),
    path("patients/<str:subject_id>/allocation/", views.allocation_detail, name="allocation"),
]

#: ``path("api/v1/", include((api_urlpatterns, "api")))`` in the root URLs.
api_urlpatterns = [
    path("patients/<str:subject_id>/randomise/", api.patient_randomise, name="patient_randomise"),
    path("patients/<str:subject_id>/allocation/", api.patient_allocation, name="patient_allocation"),
]
