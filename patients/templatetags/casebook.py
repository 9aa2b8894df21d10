"""The casebook cell: an icon with its status, linking to the record or to a new one for the visit."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

#: Oversight marks beside a cell's status icon (issue 8): label, icon, colour.
FLAG_LOOK = {
    "reverify": ("Needs re-verification", "bi-arrow-repeat", "text-warning-emphasis"),
    "signed": ("Signed", "bi-pen-fill", "text-success"),
    "resign": ("Needs re-signing", "bi-pen", "text-danger"),
}


@register.simple_tag
def cell_link(cell: Any, patient: Any, visit: Any, can_edit: bool) -> str:
    """The cell's icon(s); a repeating form at a done visit also gets an "add another" link."""
    links = [_one_link(cell, patient, visit, can_edit)]
    links += [_one_link(other, patient, visit, can_edit) for other in cell.others]
    if (
        cell.model.crf.repeating
        and cell.record is not None
        and can_edit
        and visit is not None
        and visit.status == "done"
    ):
        url = reverse("patients:crf_new", kwargs={"subject_id": patient.subject_id, "code": cell.model.crf.code})
        links.append(
            format_html(
                '<a href="{}?visit={}" title="Add another {}"><i class="bi bi-plus-square"></i></a>',
                url,
                visit.pk,
                cell.model.crf.name,
            )
        )
    return mark_safe(" ".join(str(link) for link in links))  # noqa: S308 — each part is built by format_html


def _one_link(cell: Any, patient: Any, visit: Any, can_edit: bool) -> str:
    label, icon, colour = cell.look
    code = cell.model.crf.code
    if cell.record is not None:
        url = reverse(
            "patients:crf_edit", kwargs={"subject_id": patient.subject_id, "code": code, "pk": cell.record.pk}
        )
    elif can_edit and visit is not None and visit.status == "done":
        url = (
            reverse("patients:crf_new", kwargs={"subject_id": patient.subject_id, "code": code}) + f"?visit={visit.pk}"
        )
    else:
        hint = "record the visit as done first" if can_edit else label
        return format_html(
            '<i class="bi {} {}" title="{}: {}" aria-label="{}"></i>', icon, colour, cell.model.crf.name, hint, label
        )
    flags = [
        format_html(
            '<i class="bi {} {} small" data-flag="{}" title="{}" aria-label="{}"></i>', f[1], f[2], name, f[0], f[0]
        )
        for name in cell.flags
        for f in [FLAG_LOOK[name]]
    ]
    return format_html(
        '<a href="{}" class="text-decoration-none" data-status="{}" title="{}: {}">'
        '<i class="bi {} {}" aria-label="{}"></i>{}</a>',
        url,
        cell.status,
        cell.model.crf.name,
        label,
        icon,
        colour,
        label,
        mark_safe("".join(str(flag) for flag in flags)),  # noqa: S308 — each flag is built by format_html
    )


@register.filter
def model_label(model: Any) -> str:
    """``app_label.modelname`` of a model class or instance, for the audit-trail URL."""
    return f"{model._meta.app_label}.{model._meta.model_name}"
