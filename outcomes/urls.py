from django.urls import path

from . import views, views_dashboards, views_datacuts, views_dictionary

app_name = "outcomes"

urlpatterns = [
    path("<slug:code>/summaries/", views.trial_summaries, name="summaries"),
    path("<slug:code>/dictionary/", views_dictionary.data_dictionary, name="data_dictionary"),
    path("datacuts/", views_datacuts.datacut_index, name="datacut_index"),
    path("<slug:code>/datacuts/", views_datacuts.datacut_list, name="datacut_list"),
    path("<slug:code>/datacuts/<int:pk>/", views_datacuts.datacut_detail, name="datacut_detail"),
    path(
        "<slug:code>/datacuts/<int:pk>/files/<slug:dataset>.<slug:fmt>",
        views_datacuts.datacut_file,
        name="datacut_file",
    ),
    path("<slug:code>/dashboards/enrolment/", views_dashboards.dashboard_enrolment, name="dashboard_enrolment"),
    path("<slug:code>/dashboards/health/", views_dashboards.dashboard_health, name="dashboard_health"),
    path(
        "<slug:code>/dashboards/randomisation/",
        views_dashboards.dashboard_randomisation,
        name="dashboard_randomisation",
    ),
    path("<slug:code>/dashboards/efficacy/", views_dashboards.dashboard_efficacy, name="dashboard_efficacy"),
]
