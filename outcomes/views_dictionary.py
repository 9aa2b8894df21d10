"""The data dictionary page of a trial (issue 6): every form field and analysis variable, as HTML or CSV.

Metadata only, but it describes clinical data: the page needs ``Capability.EXPORT_CLINICAL_DATA`` (data managers,
statisticians, sponsor admins) and answers 404 to anyone else, and for a trial outside the user's scope.
"""

from __future__ import annotations

from itertools import groupby

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render

from trials.permissions import Capability, require
from trials.selectors import trial_get

from .datasets.dictionary import ANALYSIS, CRF, DICTIONARY, RECORD, dictionary_entries
from .datasets.writers import FORMATS, stream

SECTION_TITLES = {
    CRF: "Case report forms",
    RECORD: "Records behind the forms",
    ANALYSIS: "Analysis datasets (CDISC ADaM)",
}


@login_required
def data_dictionary(request: HttpRequest, code: str) -> HttpResponseBase:
    require(request.user, Capability.EXPORT_CLINICAL_DATA)
    trial = trial_get(user=request.user, code=code)
    if request.GET.get("format") == "csv":
        rows = DICTIONARY.rows(trial=trial, user=request.user)
        response = StreamingHttpResponse(stream("csv", DICTIONARY, rows), content_type=FORMATS["csv"].content_type)
        response["Content-Disposition"] = f'attachment; filename="{trial.code}-data-dictionary.csv"'
        return response
    entries = list(dictionary_entries(trial=trial))  # a few hundred entries of metadata
    sections = [
        {
            "title": SECTION_TITLES[section],
            "forms": [
                {"name": form, "anchor": f"{section}-{form}".lower().replace(" ", "-"), "entries": list(rows)}
                for form, rows in groupby(group, key=lambda entry: entry.form)
            ],
        }
        for section, group in groupby(entries, key=lambda entry: entry.section)
    ]
    return render(request, "outcomes/data_dictionary.html", {"trial": trial, "sections": sections})
