"""Places where later areas add panels to the dashboard, the incident page and the declare form.

A panel is a template. The conventional templates below are included when they exist, so an
area only has to add the file; an area that needs data for its panel registers a context
function (from its AppConfig.ready() or receivers module):

    from incidents.views.panels import register_incident_panel
    register_incident_panel("escalation/panels/incident_sla.html", context=sla_context)

Dashboard and declare-form context functions take (request) and incident ones (request,
incident); each returns a dict merged into the page context. Keep them to a fixed number of queries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.template import TemplateDoesNotExist
from django.template.loader import get_template


@dataclass
class Panel:
    template: str
    context: Callable | None = None
    order: int = 100


DASHBOARD_PANELS: list[Panel] = [
    Panel("escalation/panels/oncall_now.html", order=10),
    Panel("escalation/panels/sla_at_risk.html", order=20),
    Panel("postmortems/_dashboard_panel.html", order=30),
]
INCIDENT_PANELS: list[Panel] = [
    Panel("warroom/panels/warroom_link.html", order=10),
    Panel("escalation/panels/incident_sla.html", order=20),
    Panel("escalation/panels/incident_escalation.html", order=30),
    Panel("postmortems/_incident_panel.html", order=50),
]

DECLARE_PANELS: list[Panel] = []


def _register(panels: list[Panel], template: str, context, order: int) -> None:
    for panel in panels:
        if panel.template == template:
            panel.context, panel.order = context, order
            return
    panels.append(Panel(template, context, order))


def register_dashboard_panel(template: str, context: Callable | None = None,
                             order: int = 100) -> None:
    _register(DASHBOARD_PANELS, template, context, order)


def register_incident_panel(template: str, context: Callable | None = None,
                            order: int = 100) -> None:
    _register(INCIDENT_PANELS, template, context, order)


def register_declare_panel(template: str, context: Callable | None = None,
                           order: int = 100) -> None:
    _register(DECLARE_PANELS, template, context, order)


def _exists(template: str) -> bool:
    try:
        get_template(template)
    except TemplateDoesNotExist:
        return False
    return True


def collect(panels: list[Panel], *args) -> tuple[list[str], dict]:
    """The panel templates that exist, in order, and the context their functions provide."""
    templates, context = [], {}
    for panel in sorted(panels, key=lambda p: p.order):
        if not _exists(panel.template):
            continue
        templates.append(panel.template)
        if panel.context:
            context.update(panel.context(*args))
    return templates, context
