"""Analysis-ready datasets of a trial, following CDISC ADaM conventions (issue 6), as streaming row sources.

``DATASETS`` names the five by lower-case name; each is a ``base.Dataset`` whose ``rows(trial=..., user=...)`` reads
only the user's sites, a page of patients at a time (``common.patient_batches``), and yields rows sorted by the
dataset's keys. The caller checks the capability (``Capability.EXPORT_ANALYSIS_DATASETS``); scope is applied here
whatever the caller. The variable metadata (labels, lengths, code lists, sources) is declared beside each builder and
is what the writers (``writers``) and the data dictionary (``dictionary.py``) print.

- ``adsl``: one record per subject (identifiers, site, arm, strata, subtype, localisation, dates, population flags);
- ``adtte``: one record per subject per time-to-event endpoint, from the stored ``EndpointValue`` rows;
- ``adrs``: computed and investigator overall response per assessment, and the best overall response;
- ``adae``: one record per adverse-event episode (CTCAE v5.0 term, SOC, grade, attribution, seriousness);
- ``adqs``: FACT-B items, subscales and totals per questionnaire, and the AUC per subject.
"""

from __future__ import annotations

from .adae import ADAE
from .adqs import ADQS
from .adrs import ADRS
from .adsl import ADSL
from .adtte import ADTTE
from .base import Dataset

__all__ = ["DATASETS", "Dataset", "dataset_get"]

DATASETS: dict[str, Dataset] = {dataset.name.lower(): dataset for dataset in (ADSL, ADTTE, ADRS, ADAE, ADQS)}


def dataset_get(name: str) -> Dataset:
    """The dataset called ``name`` (case-insensitive). Raises ``KeyError`` (a ``LookupError``) for an unknown name,
    which a view turns into a 404."""
    try:
        return DATASETS[name.lower()]
    except KeyError:
        raise KeyError(f"No analysis dataset named {name!r}; known: {', '.join(DATASETS)}") from None
