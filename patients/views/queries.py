"""The query list (per site, with age) and one query's thread with answer / close / re-open."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from trials.forms import filter_value
from trials.permissions import Capability, can
from trials.selectors import site_list, trial_list

from .. import selectors, services
from ..forms import QueryMessageForm
from ..models import QueryStatus


@login_required
def query_list(request: HttpRequest) -> HttpResponse:
    filters = {key: filter_value(request.GET, key) for key in ("status", "site", "trial")}
    if "status" not in request.GET:
        filters["status"] = "open"
    queries = selectors.query_list(
        user=request.user, status=filters["status"], site_code=filters["site"], trial_code=filters["trial"]
    )
    page = Paginator(queries, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "patients/query_list.html",
        {
            "page": page,
            "filters": filters,
            "now": timezone.now(),
            "sites": site_list(user=request.user),
            "trials": trial_list(user=request.user),
            "statuses": [("open", "Open or answered"), *QueryStatus.choices, ("", "All")],
        },
    )


@login_required
def query_detail(request: HttpRequest, pk: int) -> HttpResponse:
    query = selectors.query_get(user=request.user, pk=pk)
    form = QueryMessageForm(request.POST or None)
    if request.method == "POST":
        action = request.POST.get("action", "")
        actions = {
            "answer": (Capability.ANSWER_QUERIES, services.query_answer),
            "close": (Capability.RAISE_QUERIES, services.query_close),
            "reopen": (Capability.RAISE_QUERIES, services.query_reopen),
        }
        if action not in actions or not can(request.user, actions[action][0]):
            raise Http404
        if form.is_valid():
            try:
                actions[action][1](user=request.user, query=query, text=form.cleaned_data["text"])
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, f"Query {query.pk}: {action} saved.")
                return redirect("patients:query_detail", pk=query.pk)
    record = query.content_type.get_object_for_this_type(pk=query.object_id)
    return render(
        request,
        "patients/query_detail.html",
        {
            "query": query,
            "record": record,
            "thread": query.messages.select_related("author"),
            "form": form,
            "can_answer": can(request.user, Capability.ANSWER_QUERIES) and query.status != QueryStatus.CLOSED,
            "can_close": can(request.user, Capability.RAISE_QUERIES) and query.status != QueryStatus.CLOSED,
            "can_reopen": can(request.user, Capability.RAISE_QUERIES) and query.status != QueryStatus.OPEN,
        },
    )
