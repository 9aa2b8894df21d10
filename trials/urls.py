from django.urls import path

from . import views

app_name = "trials"

urlpatterns = [
    path("", views.trial_list, name="list"),
    path("<slug:code>/", views.trial_detail, name="detail"),
    path("<slug:code>/analysis-settings/", views.analysis_settings, name="analysis_settings"),
    path("<slug:code>/analysis-settings/new/", views.analysis_settings_change, name="analysis_settings_change"),
]
