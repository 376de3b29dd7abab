"""The incident core's part of a procedure: its severity levels."""

from ..models import SeverityLevel
from .registry import Section, register

register(Section(
    name="severities", model=SeverityLevel, key=("code",), order=20,
    help="Severity levels with their SLA targets, clock and review rules.",
))
