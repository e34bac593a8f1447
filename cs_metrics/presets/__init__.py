"""Source presets: a vendor's own export layout, read with no ``columns:`` mapping.

``sources.<role>.preset: NAME`` names a vendor (stripe, chargebee, recurly, baremetrics,
zuora, zendesk, freshdesk, intercom, delighted, typeform, segment, amplitude). Each preset
is DATA: for each role it supports, one or more :class:`Layout` s (the columns the
vendor's export has, and the conventions its values follow). Reading a file:

1. :func:`~cs_metrics.presets.apply.apply_preset` (called by ``sources.scan_source`` right after the header is
   read) picks the layout whose required columns the file has, renames the vendor's
   columns to canonical ones and rewrites their raw text in place where the vendor's
   convention differs from csm's (amounts in cents -> /100, Unix-epoch or UTC timestamps
   -> ISO 8601 with an offset, interval x interval_count -> months). The rows are not
   touched yet, so every bad value is still reported by sources.py with its file and row.
2. :func:`~cs_metrics.presets.apply.finish_preset` (called once the canonical columns are typed) applies the rules
   that need typed values: rows of excluded statuses are dropped, ended statuses get an
   end date, MRR starts at the trial's end, and the like.

Explicit ``columns:`` entries still win over the preset's mapping for the canonical
columns they name (their column is read as csm reads any column: no preset conversion).
docs/presets.md documents every layout and the public page it comes from.

The layouts are data in :mod:`cs_metrics.presets.layouts` (which the spec models read for
the preset names); :mod:`cs_metrics.presets.apply` reads a file with them.
"""

from cs_metrics.presets.layouts import PRESET_NAMES, PRESETS, norm

__all__ = ["PRESETS", "PRESET_NAMES", "norm"]
