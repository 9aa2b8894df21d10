"""Statisticians' screens: the trial summaries (read from precomputed rows, never aggregated on a page view)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from trials.permissions import Capability, require
from trials.selectors import analysis_settings_current, trial_get

from . import selectors

ENDPOINT_NAMES = {
    "PFS": "Progression-free survival (FDA-style, primary)",
    "PFS_EMA": "Progression-free survival (EMA-style sensitivity)",
    "TSF": "Time to strategy failure",
    "TSF_SW": "Time to strategy failure (switch for toxicity counted, sensitivity)",
    "PFS2": "PFS2 (progression on the next line)",
    "PFS2ND": "2nd PFS (from strategy failure)",
    "OS": "Overall survival",
    "TTNT": "Time to next treatment",
    "TTNTDTH": "Time to next treatment or death (sensitivity)",
}


@login_required
def trial_summaries(request: HttpRequest, code: str) -> HttpResponse:
    require(request.user, Capability.VIEW_EFFICACY)
    trial = trial_get(user=request.user, code=code)
    summaries = selectors.trial_summaries(trial=trial)
    order = list(ENDPOINT_NAMES)
    sections = []
    descriptive = None
    for key, summary in summaries.items():
        paramcd, grouping = key.split(":", 1)
        if paramcd == "SAFETY_QOL":
            descriptive = summary
            continue
        sections.append(
            {
                "key": key,
                "grouping": grouping,
                "name": ENDPOINT_NAMES.get(paramcd, paramcd),
                "summary": summary,
                "order": (order.index(paramcd) if paramcd in order else len(order), grouping),
            }
        )
    sections.sort(key=lambda section: section["order"])  # type: ignore[arg-type,return-value]
    return render(
        request,
        "outcomes/trial_summaries.html",
        {
            "trial": trial,
            "sections": sections,
            "descriptive": descriptive,
            "settings": analysis_settings_current(trial=trial),
        },
    )
