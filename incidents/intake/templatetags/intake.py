from django import template

from .. import selectors

register = template.Library()


@register.simple_tag
def incident_alerts(incident):
    """The incident's alerts (firing first), one bounded query."""
    return selectors.alerts_of_incident(incident)
