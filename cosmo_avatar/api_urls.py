"""The REST API (``/api/v1/``, namespace ``api``): wiring only. Each app lists its own API URLs; resources are
registered on one router; the OpenAPI schema and its offline Swagger/ReDoc pages sit beside them.

Router URL names are ``api:<basename>-list`` and ``api:<basename>-detail`` and join the permission matrix
(``tests/security/rows_api_resources.py``): keep them stable. Every case report form is registered from
``crf_models()`` at ``crfs/<code>/`` (basename ``crf-<code>``), so a new CRF gets its API with no new code; the lesion
forms (CRFs 6-8), whose writes need their own service, have resources of their own instead.
"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from lesions import api as lesions_api
from outcomes import api as outcomes_resources
from outcomes import urls_api as outcomes_api
from patients.api import crfs as crfs_api
from patients.api import randomisation as randomisation_resources
from patients.api import resources as patients_api
from patients.crf import crf_models
from patients.urls_randomisation import api_urlpatterns as randomisation_api
from trials import urls_api as trials_api


class Router(DefaultRouter):
    include_format_suffixes = False  # JSON only: no `.json` twins of every URL


router = Router()
router.register("patients", patients_api.PatientViewSet, basename="patient")
router.register("visits", patients_api.VisitViewSet, basename="visit")
router.register("queries", patients_api.QueryViewSet, basename="query")
router.register("allocations", randomisation_resources.AllocationViewSet, basename="allocation")
DEDICATED_CRFS = {
    "lesion": ("lesions", lesions_api.LesionViewSet),
    "tumour-assessment": ("tumour-assessments", lesions_api.TumourAssessmentViewSet),
    "local-treatment": ("local-treatments", lesions_api.LocalTreatmentViewSet),
}
for model in crf_models():
    code = model.crf.code
    if code in DEDICATED_CRFS:
        prefix, viewset = DEDICATED_CRFS[code]
        router.register(prefix, viewset, basename=code)
    else:
        router.register(f"crfs/{code}", crfs_api.crf_viewset(model), basename=f"crf-{code}")
router.register("endpoints", outcomes_resources.EndpointValueViewSet, basename="endpoint")
router.register("derivations", outcomes_resources.DerivationViewSet, basename="derivation")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    *randomisation_api,
    *trials_api.urlpatterns,
    *outcomes_api.urlpatterns,
    *router.urls,
]
