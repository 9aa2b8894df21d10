"""Run every benchmark of this folder and write the figures to ``docs/benchmarks.md`` (``make bench``).

A benchmark is a module here with ``run() -> list[Figure]`` (``benchmarks/common.py``); ``TITLE``, ``DESCRIPTION``
(markdown) and ``NOTES`` (what ``run`` has to say beside its figures) are optional. Each gets its own section of the
document, between markers, so running a few (``python benchmarks/run_all.py recompute``) rewrites only theirs and
keeps the others. The database is the one ``DATABASE_URL`` names (SQLite without it): each benchmark works in a
throwaway copy beside it.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import common
from benchmarks.common import ROOT, Figure, django_setup, machine

HERE = Path(__file__).resolve().parent
DOCUMENT = ROOT / "docs" / "benchmarks.md"
NOT_BENCHMARKS = {"__init__", "common", "data", "run_all"}
HEADER = """# Benchmarks

Figures printed by the scripts in `benchmarks/` (`make bench`, or `python benchmarks/run_all.py [name ...]`), written
here by `benchmarks/run_all.py`; each section says how to reproduce it. Benchmarks never assert a time: tests prove
behaviour, these measure it, on the machine named in each section (a shared machine: its load average is shown).
"""


def discover(names: list[str]) -> list[ModuleType]:
    found = sorted(p.stem for p in HERE.glob("*.py") if p.stem not in NOT_BENCHMARKS and not p.stem.startswith("_"))
    unknown = set(names) - set(found)
    if unknown:
        raise SystemExit(f"No benchmark named {', '.join(sorted(unknown))}; there are: {', '.join(found)}")
    modules = [importlib.import_module(f"benchmarks.{name}") for name in (names or found)]
    return [module for module in modules if callable(getattr(module, "run", None))]


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def section(module: ModuleType, figures: list[Figure], error: str, seconds: float, host: dict[str, str]) -> str:
    name = module.__name__.rsplit(".", 1)[-1]
    title = getattr(module, "TITLE", name)
    description = getattr(module, "DESCRIPTION", "") or (module.__doc__ or "").strip().split("\n\n")[0]
    lines = [f"<!-- benchmark:{name} -->", f"## {title}", "", description.strip(), ""]
    if figures:
        lines += ["| Figure | Value | Target | Met |", "|---|---:|---:|:---:|"]
        for figure in figures:
            target = "" if figure.target is None else f"{figure.direction} {_number(figure.target)} {figure.unit}"
            met = {None: "", True: "yes", False: "**no**"}[figure.met]
            label = figure.name + (f" ({figure.note})" if figure.note else "")
            lines.append(f"| {label} | {_number(figure.value)} {figure.unit} | {target} | {met} |")
        lines.append("")
    lines += [*(f"*{note}*" for note in getattr(module, "NOTES", [])), ""] if getattr(module, "NOTES", []) else []
    if error:
        lines += ["The run failed:", "", "```", error.strip(), "```", ""]
    measured = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines += [
        f"Measured {measured} in {seconds:,.0f} s on: "
        + "; ".join(f"{key} {value}" for key, value in host.items())
        + ".",
        "",
        f"Reproduce: `DATABASE_URL=postgres://USER@HOST:5432/NAME .venv/bin/python benchmarks/{name}.py` (or "
        f"`make bench`); the data are generated in a throwaway `benchmark_NAME` database, dropped afterwards.",
        f"<!-- /benchmark:{name} -->",
    ]
    return "\n".join(lines)


def write(sections: dict[str, str]) -> None:
    """Replace the sections run, keep the others (in the order they were), add new ones at the end."""
    text = DOCUMENT.read_text() if DOCUMENT.exists() else HEADER
    for name, body in sections.items():
        pattern = re.compile(rf"<!-- benchmark:{re.escape(name)} -->.*?<!-- /benchmark:{re.escape(name)} -->", re.S)
        found = pattern.search(text)
        text = text[: found.start()] + body + text[found.end() :] if found else text.rstrip("\n") + "\n\n" + body + "\n"
    DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
    DOCUMENT.write_text(text)


def _load() -> str:
    try:
        return " / ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "?"


def main(names: list[str]) -> int:
    django_setup()
    modules = discover(names)
    sections: dict[str, str] = {}
    failed = False
    for module in modules:
        name = module.__name__.rsplit(".", 1)[-1]
        print(f"== {name}")
        load_before = _load()
        started = time.perf_counter()
        figures: list[Figure] = []
        error = ""
        try:
            figures = module.run()
        except Exception:  # noqa: BLE001 - one benchmark failing must not lose the others' figures
            error = traceback.format_exc()
            failed = True
            print(error)
        seconds = time.perf_counter() - started
        for figure in figures:
            print("  " + figure.line())
        try:
            host = dict(common.MACHINE) or machine()
        except Exception as problem:  # noqa: BLE001 - the configured database may not exist outside a run
            host = {"machine": f"unknown ({problem.__class__.__name__})"}
        common.MACHINE.clear()
        host["load average (1/5/15 min) before"] = load_before
        host["after"] = _load()
        sections[name] = section(module, figures, error, seconds, host)
    write(sections)
    print(f"Wrote {DOCUMENT.relative_to(ROOT)} ({', '.join(sections)}).")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
