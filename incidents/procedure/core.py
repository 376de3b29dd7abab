"""The incident core's part of a procedure: severity levels and services."""

from ..models import Service, SeverityLevel
from .registry import Section, register

register(Section(
    name="severities", model=SeverityLevel, key=("code",), order=20,
    help="Severity levels with their SLA targets, clock and review rules.",
))
register(Section(
    name="services", model=Service, key=("slug",), order=20, prunable=False,
    help="Systems incidents affect, and which are critical paths; people are set in the admin.",
))
