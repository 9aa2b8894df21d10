"""The localisation lookup (D18, D37, clinical-spec §7.3) and the patient's category, table-driven, no database."""

import pytest

from lesions.domain.localisation import (
    BONE,
    LYMPH_NODE,
    TABLES,
    Localisation,
    anatomical_site,
    patient_localisation,
    site_choices,
)

L = Localisation

SITES = [
    ("BREAST_PRIMARY", L.LOCOREGIONAL, "breast", False),
    ("CHEST_WALL", L.LOCOREGIONAL, "chest wall", False),
    ("SKIN_BREAST_REGION", L.LOCOREGIONAL, "skin", False),
    ("AXILLA_IPSI", L.LOCOREGIONAL, "axilla", None),  # node or soft tissue: the site says
    ("SUPRACLAV_IPSI", L.LOCOREGIONAL, LYMPH_NODE, True),
    ("INFRACLAV_IPSI", L.LOCOREGIONAL, LYMPH_NODE, True),
    ("INTERNAL_MAMMARY_IPSI", L.LOCOREGIONAL, LYMPH_NODE, True),
    ("BRAIN", L.CRANIAL, "brain", False),
    ("DURA", L.CRANIAL, "meninges", False),  # D18: dural-based → cranial
    ("LEPTOMENINGES", L.CRANIAL, "meninges", False),  # D37
    ("SKULL", L.BONE, BONE, False),  # D18: skull vault → bone
    ("LUNG", L.VISCERAL, "lung", False),
    ("PLEURA", L.VISCERAL, "pleura", False),
    ("LIVER", L.VISCERAL, "liver", False),
    ("ADRENAL", L.VISCERAL, "adrenal", False),
    ("PERITONEUM", L.VISCERAL, "peritoneum", False),
    ("OVARY", L.VISCERAL, "ovary", False),
    ("OTHER_VISCERAL", L.VISCERAL, "other viscera", False),
    ("BONE_SPINE", L.BONE, BONE, False),
    ("BONE_PELVIS", L.BONE, BONE, False),
    ("BONE_RIB", L.BONE, BONE, False),
    ("BONE_LONG", L.BONE, BONE, False),
    ("BONE_OTHER", L.BONE, BONE, False),
    ("NODE_MEDIASTINAL", L.DISTANT_NODAL_SOFT_TISSUE, LYMPH_NODE, True),
    ("NODE_CONTRALATERAL_AXILLA", L.DISTANT_NODAL_SOFT_TISSUE, LYMPH_NODE, True),
    ("NODE_ABDOMINAL", L.DISTANT_NODAL_SOFT_TISSUE, LYMPH_NODE, True),
    ("NODE_OTHER_DISTANT", L.DISTANT_NODAL_SOFT_TISSUE, LYMPH_NODE, True),
    ("CONTRALATERAL_BREAST", L.DISTANT_NODAL_SOFT_TISSUE, "breast", False),  # D37
    ("SKIN_DISTANT", L.DISTANT_NODAL_SOFT_TISSUE, "skin", False),  # D37
    ("SOFT_TISSUE_DISTANT", L.DISTANT_NODAL_SOFT_TISSUE, "soft tissue", False),
]


@pytest.mark.parametrize(("code", "category", "organ", "nodal"), SITES)
def test_each_site_code_maps_to_one_category_and_organ(
    code: str, category: Localisation, organ: str, nodal: bool | None
) -> None:
    site = anatomical_site(code)
    assert (site.category, site.organ, site.nodal) == (category, organ, nodal)
    assert site.bone == (organ == BONE)


def test_every_code_of_every_version_is_offered_and_none_maps_to_mixed() -> None:
    offered = {code for code, _ in site_choices()}
    for table in TABLES.values():
        assert set(table) <= offered
        assert all(site.category is not Localisation.MIXED for site in table.values())


def test_only_leptomeningeal_disease_is_never_measurable() -> None:
    assert [code for code, site in TABLES["1"].items() if not site.measurable] == ["LEPTOMENINGES"]


@pytest.mark.parametrize(
    ("codes", "category"),
    [
        ([], None),
        (["LIVER"], L.VISCERAL),
        (["LIVER", "LIVER"], L.VISCERAL),
        (["LIVER", "LUNG"], L.VISCERAL),  # two organs, one category
        (["BREAST_PRIMARY", "AXILLA_IPSI"], L.LOCOREGIONAL),  # COSMO: primary and regional nodes
        (["BRAIN", "DURA"], L.CRANIAL),
        (["SKULL", "BONE_SPINE"], L.BONE),
        (["NODE_MEDIASTINAL", "SKIN_DISTANT"], L.DISTANT_NODAL_SOFT_TISSUE),
        (["LIVER", "BONE_SPINE"], L.MIXED),
        (["BRAIN", "SKULL"], L.MIXED),  # skull vault is bone, not cranial
        (["BREAST_PRIMARY", "CONTRALATERAL_BREAST"], L.MIXED),
    ],
)
def test_the_patient_category_is_the_oligoprogressive_lesions_category_or_mixed(
    codes: list[str], category: Localisation | None
) -> None:
    found = patient_localisation(codes)
    assert found.category is category
    assert found.mixed == (category is L.MIXED)


def test_a_mixed_patient_lists_the_categories_found() -> None:
    assert patient_localisation(["BONE_RIB", "LIVER", "LUNG"]).categories == (L.VISCERAL, L.BONE)


@pytest.mark.parametrize("call", [lambda: anatomical_site("SPLEEN"), lambda: patient_localisation(["SPLEEN"])])
def test_an_unknown_code_is_refused_rather_than_guessed(call: object) -> None:
    with pytest.raises(ValueError, match="SPLEEN"):
        call()  # type: ignore[operator]


def test_an_unknown_table_version_is_refused() -> None:
    with pytest.raises(ValueError, match="version"):
        anatomical_site("LIVER", "99")
