"""System checks for the CRF framework: mistakes that would otherwise fail silently."""

from __future__ import annotations

from typing import Any

from django.core import checks

#: Names the CRF form uses for itself: a data field with one of them would be shadowed (its value lost).
RESERVED_FORM_FIELDS = frozenset({"reason", "version", "complete", "draft", "visit"})


@checks.register(checks.Tags.models)
def crf_field_names(app_configs: Any, **kwargs: Any) -> list[checks.CheckMessage]:
    from .crf import crf_models, data_fields

    errors: list[checks.CheckMessage] = []
    codes: dict[str, str] = {}
    for model in crf_models():
        clash = RESERVED_FORM_FIELDS & set(data_fields(model))
        if clash:
            errors.append(
                checks.Error(
                    f"{model.__name__} has data fields named {sorted(clash)}, which the CRF form uses for itself.",
                    hint="Rename the field (e.g. failure_reason).",
                    obj=model,
                    id="patients.E001",
                )
            )
        if model.crf.code in codes:
            errors.append(
                checks.Error(
                    f"{model.__name__} and {codes[model.crf.code]} share the CRF code {model.crf.code!r}.",
                    obj=model,
                    id="patients.E002",
                )
            )
        codes[model.crf.code] = model.__name__
    return errors
