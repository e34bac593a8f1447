"""Which output format a command writes: moved to :mod:`cs_metrics.formats` (the bottom
layer), so that the CLI checks ``--format`` and ``-o`` before importing the renderers."""

from __future__ import annotations

from cs_metrics.formats import EXTENSIONS, FORMATS, TEXT_FORMATS, format_for_output

__all__ = ["EXTENSIONS", "FORMATS", "TEXT_FORMATS", "format_for_output"]
