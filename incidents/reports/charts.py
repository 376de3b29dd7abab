"""Colours of the report's line series, one set for the web charts and the PDF."""

MTTR = "#0d6efd"
RESPONSE_SLA = "#198754"
RESOLUTION_SLA = "#6f42c1"
