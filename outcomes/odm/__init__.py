"""CDISC ODM 1.3.2 export of a trial's clinical data and its metadata (issue 6).

One XML document per request, validated in the tests against CDISC's ODM 1.3.2 schema:
- ``Study``: the metadata, derived from the EDC's own form definitions and the trial's visit schedule
  (``metadata.py``, its shapes in ``specs.py``);
- ``AdminData``: the sites and the users the data names (``admin_data.py``), without personal data;
- ``ClinicalData``: one ``SubjectData`` per patient in the user's scope; the current values as a ``Snapshot``
  (``snapshot.py``), or, with ``audit=1``, every audited change as a ``Transactional``, ``Archival`` file
  (``archive.py``). The draft / complete status of a form is an ODM ``Flag`` (``clinical.py``).
Streaming and scope: ``export.py``. The API view: ``outcomes/api_odm.py``.
"""

from .export import CHUNK_SIZE, OdmExport, odm_export_get

__all__ = ["CHUNK_SIZE", "OdmExport", "odm_export_get"]
