"""REST API of the patients app (``/api/v1/``): thin DRF views over the same services and selectors as the screens.

- ``resources``: patients, visits and queries (read-only);
- ``crfs``: every case report form, built from the CRF models (``crfs/<code>/``), written through ``crf_save``;
- ``randomisation``: randomise a patient, read an allocation, the allocations collection.

Conventions shared by every resource (paging, filters, writes, errors, refusals): ``trials.api_common``.
"""

from trials.api_common import validation_errors

from .randomisation import allocation_data, patient_allocation, patient_randomise

__all__ = ["allocation_data", "patient_allocation", "patient_randomise", "validation_errors"]
