"""What can be exported, and who may: every dataset the API, the screens and data cuts offer, with its capability.

- The ADaM datasets (ADSL, ADTTE, ADRS, ADAE, ADQS) hold efficacy by arm: ``EXPORT_ANALYSIS_DATASETS``
  (statistician, sponsor admin).
- The raw lesion measurements (``measurements.py``) and the data dictionary hold no derived efficacy:
  ``EXPORT_CLINICAL_DATA`` (also the data manager).

The ADaM builders are the registry of ``outcomes/datasets/__init__.py`` (``DATASETS``); this module adds the raw
lesion measurements and the data dictionary (``dictionary.py``) and says which capability each needs, under the slug
used in URLs and file names (the ADaM dataset's name in lower case, ``measurements``, ``dictionary``). A data cut
writes every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trials.permissions import Capability, can

from .base import Dataset
from .measurements import MEASUREMENTS

MEASUREMENTS_SLUG = "measurements"
DICTIONARY_SLUG = "dictionary"


@dataclass(frozen=True)
class Export:
    slug: str
    dataset: Dataset
    capability: Capability

    @property
    def analysis(self) -> bool:
        """An analysis dataset (ADaM, efficacy by arm), as opposed to clinical data."""
        return self.capability == Capability.EXPORT_ANALYSIS_DATASETS


def exports() -> dict[str, Export]:
    """Every exportable dataset by slug: the ADaM datasets, the measurements, the dictionary (in that order)."""
    from . import DATASETS  # imported late: the registry imports every builder
    from .dictionary import DICTIONARY

    found = {slug: Export(slug, dataset, Capability.EXPORT_ANALYSIS_DATASETS) for slug, dataset in DATASETS.items()}
    found[MEASUREMENTS_SLUG] = Export(MEASUREMENTS_SLUG, MEASUREMENTS, Capability.EXPORT_CLINICAL_DATA)
    found[DICTIONARY_SLUG] = Export(DICTIONARY_SLUG, DICTIONARY, Capability.EXPORT_CLINICAL_DATA)
    return found


def exports_for(user: Any) -> dict[str, Export]:
    """The exports ``user``'s role may download."""
    return {slug: export for slug, export in exports().items() if can(user, export.capability)}


def export_get(*, user: Any, slug: str) -> Export | None:
    """The export named ``slug`` if the user's role may download it, else None (the caller answers 404)."""
    export = exports().get(slug)
    return export if export is not None and can(user, export.capability) else None
