"""Subtype from tumour biology (decisions D19, D36): table-driven, no database."""

from __future__ import annotations

from datetime import date

import pytest

from patients.domain.subtype import (
    Biology,
    Her2Ihc,
    Her2Status,
    Ish,
    Specimen,
    Subtype,
    classify,
    her2_status,
    is_er_low,
    patient_subtype,
)

HR_POS, HER2_POS, TN, UNDET = (
    Subtype.HR_POSITIVE_HER2_NEGATIVE,
    Subtype.HER2_POSITIVE,
    Subtype.TRIPLE_NEGATIVE,
    Subtype.UNDETERMINED,
)


def bio(
    er: int | None = 90,
    pr: int | None = 50,
    ihc: str | None = "1+",
    ish: str | None = "not_done",
    specimen: str = "metastatic",
    on: date | None = date(2024, 5, 1),
) -> Biology:
    return Biology(
        specimen=Specimen(specimen),
        specimen_date=on,
        er_percent=er,
        pr_percent=pr,
        her2_ihc=Her2Ihc(ihc) if ihc else None,
        ish=Ish(ish) if ish else None,
    )


@pytest.mark.parametrize(
    ("ihc", "ish", "expected"),
    [
        ("0", "not_done", Her2Status.NEGATIVE),
        ("0", None, Her2Status.NEGATIVE),
        ("1+", "not_amplified", Her2Status.NEGATIVE),
        ("1+", "amplified", Her2Status.POSITIVE),  # ISH amplified is HER2+ whatever the IHC
        ("2+", "not_amplified", Her2Status.NEGATIVE),
        ("2+", "amplified", Her2Status.POSITIVE),
        ("2+", "not_done", Her2Status.UNDETERMINED),
        ("2+", None, Her2Status.UNDETERMINED),
        ("3+", "not_done", Her2Status.POSITIVE),
        ("3+", "not_amplified", Her2Status.POSITIVE),
        (None, "not_done", Her2Status.UNDETERMINED),
    ],
)
def test_her2_status(ihc: str | None, ish: str | None, expected: Her2Status) -> None:
    assert her2_status(Her2Ihc(ihc) if ihc else None, Ish(ish) if ish else None) == expected


@pytest.mark.parametrize(
    ("er", "expected"),
    [(None, False), (0, False), (1, True), (5, True), (10, True), (11, False), (100, False)],
)
def test_er_low_is_1_to_10_inclusive(er: int | None, expected: bool) -> None:
    assert is_er_low(er) is expected


@pytest.mark.parametrize(
    ("specimen", "subtype", "er_low"),
    [
        (bio(er=90, pr=50, ihc="1+"), HR_POS, False),
        (bio(er=0, pr=1, ihc="0"), HR_POS, False),  # HR+ = ER ≥ 1 % or PR ≥ 1 % (D36)
        (bio(er=1, pr=0, ihc="0"), HR_POS, True),
        (bio(er=10, pr=0, ihc="2+", ish="not_amplified"), HR_POS, True),
        (bio(er=0, pr=0, ihc="3+"), HER2_POS, False),
        (bio(er=95, pr=80, ihc="2+", ish="amplified"), HER2_POS, False),
        (bio(er=5, pr=0, ihc="3+"), HER2_POS, True),
        (bio(er=0, pr=0, ihc="0"), TN, False),
        (bio(er=0, pr=0, ihc="1+", ish="not_amplified"), TN, False),
        (bio(er=0, pr=0, ihc="2+", ish="not_amplified"), TN, False),
        (bio(er=90, pr=50, ihc="2+", ish="not_done"), UNDET, False),
        (bio(er=None, pr=50, ihc="1+"), UNDET, False),
        (bio(er=0, pr=None, ihc="0"), UNDET, False),
        (bio(er=90, ihc=None), UNDET, False),
    ],
)
def test_classify_one_specimen(specimen: Biology, subtype: Subtype, er_low: bool) -> None:
    result = classify(specimen)
    assert (result.subtype, result.er_low) == (subtype, er_low)
    assert bool(result.query_reason) is (subtype == UNDET)


def test_ihc_2_plus_without_ish_gives_a_query_reason() -> None:
    assert "ISH" in classify(bio(ihc="2+", ish="not_done")).query_reason


@pytest.mark.parametrize(
    ("specimens", "expected"),
    [
        pytest.param([], UNDET, id="no specimen"),
        pytest.param([bio(specimen="primary", er=0, pr=0, ihc="0")], TN, id="primary only"),
        pytest.param(
            [bio(specimen="primary", er=0, pr=0, ihc="0", on=date(2024, 9, 1)), bio(ihc="1+", on=date(2023, 1, 1))],
            HR_POS,
            id="a metastatic biopsy wins over a later primary",
        ),
        pytest.param(
            [bio(ihc="3+", on=date(2022, 1, 1)), bio(ihc="1+", on=date(2024, 1, 1))],
            HR_POS,
            id="the most recent metastatic biopsy wins",
        ),
        pytest.param(
            [bio(specimen="primary", ihc="3+", on=date(2015, 1, 1)), bio(specimen="primary", on=date(2016, 1, 1))],
            HR_POS,
            id="the most recent primary when there is no metastatic biopsy",
        ),
        pytest.param(
            [bio(ihc="3+", on=date(2024, 1, 1)), bio(ihc="1+", on=date(2024, 1, 1))],
            UNDET,
            id="same day, different groups",
        ),
        pytest.param(
            [bio(ihc="2+", ish="not_done", on=date(2024, 1, 1)), bio(ihc="1+", on=date(2024, 1, 1))],
            UNDET,
            id="same day, one undetermined",
        ),
        pytest.param(
            [bio(er=80, on=date(2024, 1, 1)), bio(er=30, pr=0, on=date(2024, 1, 1))],
            HR_POS,
            id="same day, same group",
        ),
        pytest.param(
            [bio(ihc="2+", ish="not_done", on=date(2024, 1, 1)), bio(ihc="1+", on=date(2023, 1, 1))],
            UNDET,
            id="the latest biopsy undetermined: no fall-back to an older one",
        ),
        pytest.param([bio(on=None)], UNDET, id="an undated specimen cannot be ranked"),
    ],
)
def test_patient_subtype(specimens: list[Biology], expected: Subtype) -> None:
    assert patient_subtype(specimens).subtype == expected


def test_same_day_disagreement_names_the_date_and_groups_for_the_query() -> None:
    result = patient_subtype([bio(ihc="3+", on=date(2024, 1, 1)), bio(ihc="1+", on=date(2024, 1, 1))])
    assert result.query_reason == (
        "2 metastatic specimens dated 2024-01-01 give different subtypes (HER2+, HR+/HER2−): "
        "the subtype is undetermined until resolved."
    )
    assert len(result.basis) == 2


def test_er_low_is_flagged_on_the_patient_when_any_same_day_specimen_is_er_low() -> None:
    result = patient_subtype([bio(er=80, on=date(2024, 1, 1)), bio(er=8, on=date(2024, 1, 1))])
    assert (result.subtype, result.er_low) == (HR_POS, True)
