"""Importing NCI's CTCAE v5.0 term list: the shared CSV, an NCI-style workbook, and files that must change nothing."""

from __future__ import annotations

import os
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import Workbook

from patients.ctcae import XLSX_SHEET, CtcaeImportError, ctcae_import, read_ctcae
from patients.models import CtcaeTerm

SHARED_CSV = Path(os.environ.get("CTCAE_CSV", "/work/shared/data/ctcae_v5.csv"))
needs_shared_csv = pytest.mark.skipif(not SHARED_CSV.is_file(), reason="NCI's CTCAE CSV is not available here")

HEADER = "soc,term,grade_1,grade_2,grade_3,grade_4,grade_5,definition"
ANEMIA = "Blood and lymphatic system disorders,Anemia,Hgb <LLN - 10.0 g/dL,Hgb <10.0 - 8.0 g/dL,Hgb <8.0 g/dL,Life-threatening,Death,A disorder."  # noqa: E501
EOSINOPHILIA = "Blood and lymphatic system disorders,Eosinophilia,>ULN and >Baseline,,Steroids initiated,,,A disorder."


def _csv(tmp_path: Path, *lines: str, name: str = "ctcae.csv") -> Path:
    path = tmp_path / name
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


def _run(path: Path | str) -> str:
    out = StringIO()
    call_command("import_ctcae", str(path), stdout=out)
    return out.getvalue()


@needs_shared_csv
def test_it_imports_the_837_terms_of_the_nci_csv_and_prints_the_counts(db: None) -> None:
    output = _run(SHARED_CSV)
    assert "837 terms in 26 system organ classes (837 created, 0 updated, 0 unchanged)" in output
    assert CtcaeTerm.objects.count() == 837
    assert CtcaeTerm.objects.values("soc").distinct().count() == 26
    assert CtcaeTerm.objects.filter(term__endswith="- Other, specify").count() == 26


@needs_shared_csv
def test_a_cell_with_line_breaks_stays_one_cell_of_its_term(db: None) -> None:
    _run(SHARED_CSV)
    hypertension = CtcaeTerm.objects.get(term="Hypertension")
    assert hypertension.soc == "Vascular disorders"
    assert "\n" in hypertension.grade_1 and "Adult" in hypertension.grade_1 and "Pediatric" in hypertension.grade_1
    assert hypertension.available_grades == (1, 2, 3, 4, 5)


@needs_shared_csv
def test_empty_grade_cells_mean_the_grade_does_not_exist(db: None) -> None:
    _run(SHARED_CSV)
    assert CtcaeTerm.objects.get(term="Eosinophilia").available_grades == (1, 3)
    fatigue = CtcaeTerm.objects.get(term="Fatigue")
    assert fatigue.available_grades == (1, 2, 3)
    assert (fatigue.grade_4, fatigue.grade_5) == ("", "")
    assert CtcaeTerm.objects.get(term="Febrile neutropenia").available_grades == (3, 4, 5)
    other = CtcaeTerm.objects.get(term="Blood and lymphatic system disorders - Other, specify")
    assert other.is_other_specify and other.definition == ""
    assert CtcaeTerm.objects.get(term="Anemia").version == "5.0"


@needs_shared_csv
def test_re_importing_the_same_file_changes_nothing(db: None) -> None:
    _run(SHARED_CSV)
    history_rows = CtcaeTerm.history.count()
    output = _run(SHARED_CSV)
    assert "(0 created, 0 updated, 837 unchanged)" in output
    assert CtcaeTerm.objects.count() == 837
    assert CtcaeTerm.history.count() == history_rows


def test_a_changed_term_is_updated_with_a_reason_and_a_missing_one_kept(db: None, tmp_path: Path) -> None:
    ctcae_import(path=_csv(tmp_path, HEADER, ANEMIA, EOSINOPHILIA))
    changed = ANEMIA.replace("Hgb <8.0 g/dL", "Hgb <8.0 g/dL; transfusion indicated")
    result = ctcae_import(path=_csv(tmp_path, HEADER, changed, name="v2.csv"))
    assert (result.created, result.updated, result.unchanged, result.not_in_file) == (0, 1, 0, 1)
    anemia = CtcaeTerm.objects.get(term="Anemia")
    assert anemia.grade_3 == "Hgb <8.0 g/dL; transfusion indicated"
    assert anemia.history.latest().history_change_reason == "CTCAE v5.0 import from v2.csv"
    assert CtcaeTerm.objects.filter(term="Eosinophilia").exists()


def test_it_reads_nci_s_workbook_where_a_hyphen_means_not_available(db: None, tmp_path: Path) -> None:
    workbook = Workbook()
    workbook.active.title = "Read me"
    sheet = workbook.create_sheet(XLSX_SHEET)
    blood, vascular = "Blood and lymphatic system disorders", "Vascular disorders"
    rows = [
        ["MedDRA Code", "MedDRA SOC", "CTCAE Term", *(f"Grade {g}" for g in range(1, 6)), "Definition", "Note"],
        [10002272, blood, "Anemia", "Hgb <LLN", "Hgb <10", "Hgb <8", "Life-threatening", "Death", "A disorder.", None],
        [10014950, blood, "Eosinophilia", ">ULN", "-", "Steroids initiated", "-", "-", "A disorder.", None],
        [10020772, vascular, "Hypertension", "Adult: SBP 120-139\nPediatric: SBP >90th", "Adult: SBP 140-159",
         "Adult: SBP >=160", "Life-threatening", "Death", "A disorder.", None],
    ]  # fmt: skip
    for row in rows:
        sheet.append(row)
    sheet.append([None] * 10)  # trailing empty row, as in NCI's sheet
    path = tmp_path / "CTCAE_v5.0.xlsx"
    workbook.save(path)

    output = _run(path)

    assert "3 terms in 2 system organ classes (3 created" in output
    eosinophilia = CtcaeTerm.objects.get(term="Eosinophilia")
    assert eosinophilia.available_grades == (1, 3)
    assert eosinophilia.grade_2 == ""
    assert CtcaeTerm.objects.get(term="Hypertension").grade_1 == "Adult: SBP 120-139\nPediatric: SBP >90th"


def test_a_workbook_without_the_clean_copy_sheet_is_refused(db: None, tmp_path: Path) -> None:
    workbook = Workbook()
    workbook.active.title = "Tracked changes"
    workbook.create_sheet("Something else")
    path = tmp_path / "wrong.xlsx"
    workbook.save(path)
    with pytest.raises(CommandError, match=re.escape("no sheet 'CTCAE v5.0 Clean Copy'")):
        _run(path)
    assert not CtcaeTerm.objects.exists()


def test_a_missing_file_is_a_clear_error(db: None, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"File not found: .*nowhere\.csv"):
        _run(tmp_path / "nowhere.csv")


def test_an_unsupported_file_type_is_refused(db: None, tmp_path: Path) -> None:
    path = tmp_path / "ctcae.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(CommandError, match=r"Unsupported file type \.pdf"):
        _run(path)


def test_a_wrong_header_names_the_missing_columns_and_changes_nothing(db: None, tmp_path: Path) -> None:
    ctcae_import(path=_csv(tmp_path, HEADER, ANEMIA))
    path = _csv(tmp_path, "soc,name,grade_1,grade_2,grade_3,definition", ANEMIA, name="bad.csv")
    with pytest.raises(CommandError, match=r"Wrong header: missing column\(s\) term, grade_4, grade_5"):
        _run(path)
    assert list(CtcaeTerm.objects.values_list("term", flat=True)) == ["Anemia"]


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        ("Blood and lymphatic system disorders,,Mild,,,,,", r"Row 2 \(line 3\): term is empty"),
        ("Blood and lymphatic system disorders,Leukocytosis", r"Row 2 \(line 3\): 2 cell\(s\), expected at least 8"),
        ("Blood and lymphatic system disorders,Leukocytosis,,,,,,A disorder.", "Row 2.*no grade is available"),
        (ANEMIA.replace("10.0 g/dL", "9 g/dL"), "Row 2.*term 'Anemia' repeats Row 1"),
    ],
)
def test_a_malformed_row_is_named_and_nothing_is_imported(db: None, tmp_path: Path, bad_row: str, message: str) -> None:
    path = _csv(tmp_path, HEADER, ANEMIA, bad_row, EOSINOPHILIA)
    with pytest.raises(CommandError, match=message):
        _run(path)
    assert not CtcaeTerm.objects.exists()


def test_a_broken_quote_is_reported_not_half_imported(db: None, tmp_path: Path) -> None:
    path = _csv(tmp_path, HEADER, ANEMIA, 'Vascular disorders,Hypertension,"Adult: SBP 120-139')
    with pytest.raises(CtcaeImportError, match="not a well-formed CSV"):
        read_ctcae(path)
    with pytest.raises(CommandError):
        _run(path)
    assert not CtcaeTerm.objects.exists()


def test_the_application_never_reads_the_shared_folder() -> None:
    root = Path(__file__).resolve().parents[2]
    sources = [*root.glob("patients/**/*.py"), *root.glob("cosmo_avatar/**/*.py")]
    assert sources
    assert not [p for p in sources if "/work/shared" in p.read_text(encoding="utf-8")]
