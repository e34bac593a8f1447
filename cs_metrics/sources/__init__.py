"""Reading sources: files -> typed polars LazyFrames with canonical column names.

Every engine sees the same typed inputs: files are scanned by polars (lazily), columns
renamed to their canonical names, and messy text parsed with ``strict=False``. For every
parsed column a *check frame* lists the rows where text was present but did not parse, so
a bad value is reported with file, row, column and the raw text (see ``Scanned.checks``).

Before the scan, the first bytes of each file are read eagerly (cheap) to detect the
encoding (byte-order marks, bytes that are not UTF-8), guess the delimiter, read the header
(duplicate names, columns named like a canonical one) and notice a header-only export.
Nothing reads a whole file twice: every other finding is a lazy frame collected with the
results (docs/inputs.md lists the reading rules).

The modules, lowest first: ``base`` (:class:`Scanned`, shared limits), ``files`` (globs,
each real file once), ``head`` (encoding, delimiter, header), ``columns`` (name matching),
``problems`` (bad-value reports, the error messages), ``parse`` (typing the text columns
and their check frames), ``checks`` (whole-row rules), ``scan`` (:func:`scan_source`),
``shared`` (one command's scans, shared by everything that reads a source in it).
"""

from cs_metrics.sources.base import MAX_REPORTED, Scanned
from cs_metrics.sources.checks import overlap_rows
from cs_metrics.sources.columns import normalise
from cs_metrics.sources.files import resolve_files
from cs_metrics.sources.problems import raise_for_checks, suggest_date_format
from cs_metrics.sources.scan import explain_read_error, scan_source

__all__ = [
    "MAX_REPORTED",
    "Scanned",
    "explain_read_error",
    "normalise",
    "overlap_rows",
    "raise_for_checks",
    "resolve_files",
    "scan_source",
    "suggest_date_format",
]
