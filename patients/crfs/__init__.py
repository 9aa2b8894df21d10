"""Case report form models by area. Imported by ``patients.models`` so Django registers them.

- enrolment: screening & eligibility (1), registration / randomisation (2)
- disease: tumour biology (4), systemic therapy lines (5), clinical progression (9), strategy failure (10),
  subsequent systemic therapy (11)
- safety: adverse events with CTCAE v5.0 (12), visceral crisis (13)
- follow_up: FACT-B (14), survival status contact (15), death (16), end of study (17)
Demographics (3) is in ``patients.models``; lesions, local ablative treatment and tumour assessments (6–8) are in
the ``lesions`` app.
"""
