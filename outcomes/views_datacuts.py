"""Data-cut screens for statisticians (issue 6): the trials, a trial's cuts with the freeze form, one cut's manifest,
and the download of a frozen file.

Reading cuts needs ``EXPORT_ANALYSIS_DATASETS`` (they hold the ADaM datasets), freezing one ``FREEZE_DATA_CUT``;
anyone else gets 404. A download is the stored file, checked against its SHA-256 first; a file that no longer matches
is refused (409) with a page saying so, never served.
"""

from __future__ import annotations

from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from trials.forms import apply_validation_error
from trials.permissions import Capability, can, require
from trials.selectors import trial_get, trial_list

from . import selectors_datacuts as reads
from .downloads import datacut_file_response
from .models import DataCut, DataCutStatus
from .services import datacuts as service


class DataCutForm(forms.Form):
    name = forms.CharField(
        max_length=service.NAME_MAX_LENGTH,
        help_text="Names a cut for good, e.g. “DMC 2 (June 2026)” or “Final analysis”; unique in the trial.",
    )
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text="What the cut is for (optional)."
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("freeze", "Freeze data cut"))


@login_required
def datacut_index(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.EXPORT_ANALYSIS_DATASETS)
    trials = [
        {"trial": trial, "cuts": list(reads.datacut_list(user=request.user, trial=trial)[:5])}
        for trial in trial_list(user=request.user)
    ]
    return render(request, "outcomes/datacuts_index.html", {"trials": trials})


@login_required
@require_http_methods(["GET", "POST"])
def datacut_list(request: HttpRequest, code: str) -> HttpResponse:
    trial = trial_get(user=request.user, code=code)
    cuts = reads.datacut_list(user=request.user, trial=trial)
    may_freeze = can(request.user, Capability.FREEZE_DATA_CUT)
    form = DataCutForm(request.POST or None) if may_freeze else None
    if request.method == "POST":
        require(request.user, Capability.FREEZE_DATA_CUT)
        assert form is not None
        if form.is_valid():
            try:
                cut = service.datacut_request(user=request.user, trial=trial, **form.cleaned_data)
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                cut.refresh_from_db()
                if cut.status == DataCutStatus.PENDING:
                    messages.info(request, f"Data cut “{cut.name}” is being frozen; this page shows when it is ready.")
                return redirect("outcomes:datacut_detail", code=trial.code, pk=cut.pk)
    return render(request, "outcomes/datacuts.html", {"trial": trial, "cuts": cuts, "form": form})


@login_required
def datacut_detail(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    trial = trial_get(user=request.user, code=code)
    cut: DataCut = reads.datacut_get(user=request.user, trial=trial, pk=pk)
    files = reads.datacut_files(cut=cut)
    datasets: dict[str, dict[str, Any]] = {}
    manifest = None
    for file in files:
        if file.dataset == service.MANIFEST:
            manifest = file
        else:
            datasets.setdefault(file.dataset, {"rows": file.rows, "files": []})["files"].append(file)
    return render(
        request,
        "outcomes/datacuts_detail.html",
        {
            "trial": trial,
            "cut": cut,
            "datasets": datasets,
            "manifest": manifest,
        },
    )


@login_required
def datacut_file(request: HttpRequest, code: str, pk: int, dataset: str, fmt: str) -> HttpResponseBase:
    trial = trial_get(user=request.user, code=code)
    file = reads.datacut_file_get(user=request.user, trial=trial, pk=pk, dataset=dataset, fmt=fmt)
    try:
        return datacut_file_response(file=file)
    except reads.DataCutFileChanged as error:
        return render(
            request,
            "outcomes/datacuts_file_changed.html",
            {"trial": trial, "cut": file.cut, "file": file, "message": str(error)},
            status=409,
        )
