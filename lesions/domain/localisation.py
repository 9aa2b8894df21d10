"""Localisation of a lesion and of the patient's oligoprogression: a versioned lookup of anatomical site codes.

Sources: clinical-spec §7.3 (proposed mapping, COSMO subgroups "locoregional vs cranial vs visceral vs bone");
decisions D18 (five categories: the registry's four plus **distant nodal / soft tissue**; versioned lookup; dural
lesions cranial, skull vault bone; two oligoprogressive lesions in different categories make the patient "mixed"
and raise a query) and D37 (contralateral breast and distant skin are distant nodal / soft tissue, leptomeningeal
and dural are cranial, skull is bone; all bone is one organ and all lymph nodes are one organ for RECIST's
"two targets per organ", Eisenhauer 2009 §3.3 and the RECIST FAQ "two target lesions").

The table is data: a new version is a new entry in ``TABLES`` (never an edit of an old one), chosen per trial by
the analysis setting ``localisation_table_version``, so a patient's category can always be re-derived with the
table it was derived with. Pure Python: no Django (STYLE.md rule 2).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Localisation(StrEnum):
    """Localisation category of a lesion (D18); ``MIXED`` only ever describes a patient."""

    LOCOREGIONAL = "locoregional"
    CRANIAL = "cranial"
    VISCERAL = "visceral"
    BONE = "bone"
    DISTANT_NODAL_SOFT_TISSUE = "distant_nodal_soft_tissue"
    MIXED = "mixed"

    @property
    def label(self) -> str:
        return LOCALISATION_LABELS[self]


LOCALISATION_LABELS: Mapping[Localisation, str] = {
    Localisation.LOCOREGIONAL: "Locoregional",
    Localisation.CRANIAL: "Cranial",
    Localisation.VISCERAL: "Visceral",
    Localisation.BONE: "Bone",
    Localisation.DISTANT_NODAL_SOFT_TISSUE: "Distant nodal / soft tissue",
    Localisation.MIXED: "Mixed (query)",
}

LYMPH_NODE = "lymph node"
BONE = "bone"
"""Organ groups shared by every node and by every bone lesion (RECIST FAQ "two target lesions"; D37)."""


@dataclass(frozen=True)
class AnatomicalSite:
    """One code of the site dictionary.

    ``organ`` is the organ a target counts against for "two per organ" (so every bone code says ``"bone"`` and
    every node code ``"lymph node"``; a lesion recorded as a node counts with the nodes whatever its code).
    ``nodal`` is what the code says about the lesion being a lymph node:
    True or False when the code makes it obvious, None when it does not (an axillary recurrence may be a node or
    soft tissue) and the site must say. ``measurable`` is False for sites RECIST never measures
    (leptomeningeal disease, Eisenhauer 2009 §3.1.2).
    """

    code: str
    label: str
    category: Localisation
    organ: str
    nodal: bool | None = False
    measurable: bool = True

    @property
    def bone(self) -> bool:
        return self.organ == BONE


def _sites(*sites: AnatomicalSite) -> Mapping[str, AnatomicalSite]:
    return {site.code: site for site in sites}


_LR, _CR, _VI, _BO, _DN = (
    Localisation.LOCOREGIONAL,
    Localisation.CRANIAL,
    Localisation.VISCERAL,
    Localisation.BONE,
    Localisation.DISTANT_NODAL_SOFT_TISSUE,
)

TABLE_V1 = _sites(
    # Locoregional: primary tumour / ipsilateral breast, chest wall, breast-region skin, ipsilateral regional nodes.
    AnatomicalSite("BREAST_PRIMARY", "Breast (primary tumour / ipsilateral breast)", _LR, "breast"),
    AnatomicalSite("CHEST_WALL", "Chest wall (ipsilateral)", _LR, "chest wall"),
    AnatomicalSite("SKIN_BREAST_REGION", "Skin of the breast region", _LR, "skin"),
    AnatomicalSite("AXILLA_IPSI", "Axilla, ipsilateral (levels I-III)", _LR, "axilla", nodal=None),
    AnatomicalSite("INFRACLAV_IPSI", "Infraclavicular nodes, ipsilateral", _LR, LYMPH_NODE, nodal=True),
    AnatomicalSite("SUPRACLAV_IPSI", "Supraclavicular nodes, ipsilateral", _LR, LYMPH_NODE, nodal=True),
    AnatomicalSite("INTERNAL_MAMMARY_IPSI", "Internal mammary nodes, ipsilateral", _LR, LYMPH_NODE, nodal=True),
    # Cranial: brain parenchyma; dural-based and leptomeningeal disease too (D18, D37).
    AnatomicalSite("BRAIN", "Brain (parenchymal)", _CR, "brain"),
    AnatomicalSite("DURA", "Dura (dural-based)", _CR, "meninges"),
    AnatomicalSite("LEPTOMENINGES", "Leptomeninges", _CR, "meninges", measurable=False),
    # Visceral.
    AnatomicalSite("LUNG", "Lung", _VI, "lung"),
    AnatomicalSite("PLEURA", "Pleura", _VI, "pleura"),
    AnatomicalSite("LIVER", "Liver", _VI, "liver"),
    AnatomicalSite("ADRENAL", "Adrenal gland", _VI, "adrenal"),
    AnatomicalSite("PERITONEUM", "Peritoneum", _VI, "peritoneum"),
    AnatomicalSite("OVARY", "Ovary", _VI, "ovary"),
    AnatomicalSite("OTHER_VISCERAL", "Other solid organ", _VI, "other viscera"),
    # Bone, skull vault included (D18); all bone is one organ (D37).
    AnatomicalSite("SKULL", "Skull (vault)", _BO, BONE),
    AnatomicalSite("BONE_SPINE", "Spine", _BO, BONE),
    AnatomicalSite("BONE_PELVIS", "Pelvis", _BO, BONE),
    AnatomicalSite("BONE_RIB", "Rib", _BO, BONE),
    AnatomicalSite("BONE_STERNUM", "Sternum", _BO, BONE),
    AnatomicalSite("BONE_LONG", "Long bone", _BO, BONE),
    AnatomicalSite("BONE_OTHER", "Other bone", _BO, BONE),
    # Distant nodal / soft tissue: the registry's gap, its own category (D18, D37).
    AnatomicalSite("NODE_MEDIASTINAL", "Mediastinal / hilar nodes", _DN, LYMPH_NODE, nodal=True),
    AnatomicalSite("NODE_CONTRALATERAL_AXILLA", "Contralateral axillary nodes", _DN, LYMPH_NODE, nodal=True),
    AnatomicalSite("NODE_CERVICAL", "Cervical / contralateral supraclavicular nodes", _DN, LYMPH_NODE, nodal=True),
    AnatomicalSite("NODE_ABDOMINAL", "Abdominal / retroperitoneal nodes", _DN, LYMPH_NODE, nodal=True),
    AnatomicalSite("NODE_OTHER_DISTANT", "Other distant nodes", _DN, LYMPH_NODE, nodal=True),
    AnatomicalSite("CONTRALATERAL_BREAST", "Contralateral breast", _DN, "breast"),
    AnatomicalSite("SKIN_DISTANT", "Skin, distant", _DN, "skin"),
    AnatomicalSite("SOFT_TISSUE_DISTANT", "Soft tissue, distant", _DN, "soft tissue"),
)

TABLES: Mapping[str, Mapping[str, AnatomicalSite]] = {"1": TABLE_V1}
CURRENT_VERSION = "1"


def site_table(version: str = CURRENT_VERSION) -> Mapping[str, AnatomicalSite]:
    try:
        return TABLES[version]
    except KeyError:
        raise ValueError(f"unknown localisation table version {version!r}") from None


def anatomical_site(code: str, version: str = CURRENT_VERSION) -> AnatomicalSite:
    """The site of ``code`` in table ``version``; ValueError for a code the table does not have."""
    try:
        return site_table(version)[code]
    except KeyError:
        raise ValueError(f"site code {code!r} is not in localisation table version {version}") from None


def site_choices() -> list[tuple[str, str]]:
    """Every code any table version knows, so records coded under an old version stay valid, grouped by category
    in table order (newest version's label wins)."""
    seen: dict[str, AnatomicalSite] = {}
    for version in sorted(TABLES, key=int):
        seen.update(TABLES[version])
    return [(site.code, f"{site.label} ({site.category.label.lower()})") for site in seen.values()]


@dataclass(frozen=True)
class PatientLocalisation:
    """The patient's localisation category (D18): the category of the oligoprogressive lesion(s).

    ``category`` is None with no oligoprogressive lesion, ``MIXED`` when they fall in different categories (a
    query until resolved); ``categories`` lists the distinct categories found, in enum order.
    """

    category: Localisation | None
    categories: tuple[Localisation, ...]

    @property
    def mixed(self) -> bool:
        return self.category is Localisation.MIXED


def patient_localisation(
    oligoprogressive_site_codes: Iterable[str], version: str = CURRENT_VERSION
) -> PatientLocalisation:
    """Category of the patient's oligoprogression from the site codes of their oligoprogressive lesions (D18).

    One category among them is the patient's; two or more make the patient ``MIXED``; none gives None.
    Raises ValueError for a code the table version does not know (the EDC must not silently guess, §7.3).
    """
    found = {anatomical_site(code, version).category for code in oligoprogressive_site_codes}
    ordered = tuple(category for category in Localisation if category in found)
    if not ordered:
        return PatientLocalisation(None, ())
    if len(ordered) == 1:
        return PatientLocalisation(ordered[0], ordered)
    return PatientLocalisation(Localisation.MIXED, ordered)
