"""What every report of :mod:`zsfuse.evaluation` writes alike: percentages, Markdown tables, file names, progress."""

from __future__ import annotations

import re
import sys

__all__ = ["MAX_SPEAKERS_SHOWN", "md_cell", "md_table", "note", "pct", "progress_bar", "slug", "speaker_list"]

#: Speakers listed in a report cell before "(+ n more)".
MAX_SPEAKERS_SHOWN = 6


def pct(value):
    """A fraction as a percentage with one decimal: ``0.6543`` -> ``"65.4"``."""
    return f"{100.0 * float(value):.1f}"


def md_cell(value):
    """A value as one Markdown table cell (``|`` escaped, newlines as spaces)."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def md_table(header, rows, align):
    """The lines of a Markdown table; ``align`` holds one ``"l"`` or ``"r"`` per column."""
    marks = {"l": ":--", "r": "--:"}
    lines = ["| " + " | ".join(md_cell(h) for h in header) + " |", "|" + "|".join(marks[a] for a in align) + "|"]
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return lines


def slug(name):
    """``name`` as a file-name part: every run of other characters than letters, digits, ``_ . -`` as ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))


def speaker_list(speakers, shown=MAX_SPEAKERS_SHOWN):
    """``"a, b, c"``, or the first ``shown`` and ``"(+n more)"``."""
    speakers = [str(s) for s in speakers or []]
    if len(speakers) > shown:
        return ", ".join(speakers[:shown]) + f" (+{len(speakers) - shown} more)"
    return ", ".join(speakers)


def progress_bar(items, progress, desc, unit):
    """``items`` behind a tqdm bar on stderr when ``progress``, else as they are."""
    if not progress:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit=unit, leave=True)


def note(message):
    """One ``zsfuse: ...`` line on stderr, above any progress bar (stdout holds the results only)."""
    from tqdm.auto import tqdm

    tqdm.write(f"zsfuse: {message}", file=sys.stderr)
