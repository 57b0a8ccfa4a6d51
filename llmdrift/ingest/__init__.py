"""Reading traces into llmdrift's frames.

- :func:`read_otlp`: OTLP/JSON files (Collector file exporter lines or single
  documents, gzip, globs) with OTel GenAI or OpenInference attributes -> spans.
- :func:`read_otlp_contents`: the prompt and answer texts of the same files ->
  contents, kept apart from spans.
- :func:`from_table`: a plain table with a column mapping -> spans.
- :func:`spans_to_otlp_json` / :func:`write_otlp_json`: OpenTelemetry SDK spans
  -> OTLP/JSON as the Collector writes it (for tests, demos and exports).

Which attribute fills which column, with the defaults, is tabled in
:mod:`llmdrift.ingest._attributes`.
"""

from llmdrift.ingest._attributes import (
    DEFAULT_INTENT_ATTRIBUTES,
    DEFAULT_PROMPT_HASH_ATTRIBUTES,
    DEFAULT_PROMPT_TEMPLATE_ATTRIBUTES,
    DEFAULT_PROMPT_VERSION_ATTRIBUTES,
)
from llmdrift.ingest.export import spans_to_otlp_json, write_otlp_json
from llmdrift.ingest.otlp import read_otlp, read_otlp_contents, usage_inconsistent
from llmdrift.ingest.table import SOURCE_FORMATS, from_table

__all__ = [
    "DEFAULT_INTENT_ATTRIBUTES",
    "DEFAULT_PROMPT_HASH_ATTRIBUTES",
    "DEFAULT_PROMPT_TEMPLATE_ATTRIBUTES",
    "DEFAULT_PROMPT_VERSION_ATTRIBUTES",
    "SOURCE_FORMATS",
    "from_table",
    "read_otlp",
    "read_otlp_contents",
    "spans_to_otlp_json",
    "usage_inconsistent",
    "write_otlp_json",
]
