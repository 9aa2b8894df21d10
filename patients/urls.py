from django.urls import path

from . import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("register/", views.patient_register, name="register"),
    path("<str:subject_id>/", views.patient_detail, name="detail"),
    path("<str:subject_id>/edit/", views.patient_update, name="update"),
]
