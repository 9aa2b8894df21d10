"""API URLs of the outcomes app (mounted under ``api/v1/`` in the ``api`` namespace): analysis datasets, data cuts,
exports."""

from django.urls import URLPattern, path

from . import api_datasets, api_odm

urlpatterns: list[URLPattern] = [
    # Analysis datasets, raw lesion measurements, data dictionary and data cuts (issue 6): outcomes/api_datasets.py
    path("trials/<slug:code>/datasets/", api_datasets.DatasetList.as_view(), name="dataset_list"),
    path(
        "trials/<slug:code>/datasets/<slug:name>.<slug:fmt>",
        api_datasets.DatasetDownload.as_view(),
        name="dataset_download",
    ),
    path(
        "trials/<slug:code>/measurements.<slug:fmt>",
        api_datasets.MeasurementsDownload.as_view(),
        name="measurements_download",
    ),
    path(
        "trials/<slug:code>/dictionary.<slug:fmt>",
        api_datasets.DictionaryDownload.as_view(),
        name="dictionary_download",
    ),
    path("trials/<slug:code>/datacuts/", api_datasets.DataCutListCreate.as_view(), name="datacut_list"),
    path("trials/<slug:code>/datacuts/<int:pk>/", api_datasets.DataCutDetail.as_view(), name="datacut_detail"),
    path(
        "trials/<slug:code>/datacuts/<int:pk>/files/<slug:dataset>.<slug:fmt>",
        api_datasets.DataCutFileDownload.as_view(),
        name="datacut_file",
    ),
    # CDISC ODM 1.3.2 export of the clinical data and metadata (issue 6): outcomes/api_odm.py
    path("trials/<slug:code>/odm.xml", api_odm.TrialOdmExport.as_view(), name="trial_odm"),
]
