"""The staff navigation bar: each area adds its entry here. A link whose URL does not resolve
(area not installed yet) or whose permission the user lacks is left out."""

from django.urls import NoReverseMatch, reverse

# (label, url name, permission or None)
LINKS = [
    ("Dashboard", "incidents:dashboard", None),
    ("Incidents", "incidents:list", "incidents.view_incident"),
    ("Declare", "incidents:declare", "incidents.declare_incident"),
    ("Action items", "postmortems:my_action_items", None),
    ("Reviews", "postmortems:list", "postmortems.view_postmortem"),
    ("On call", "escalation:oncall", "incidents.view_incident"),
    ("Alerts", "intake:alerts", "intake.view_alert"),
    ("Reports", "reports:dashboard", "incidents.view_reports"),
    ("Status page", "statuspage:index", None),
]


def links_for(user) -> list[dict]:
    links = []
    for label, name, perm in LINKS:
        if perm and not user.has_perm(perm):
            continue
        try:
            links.append({"label": label, "url": reverse(name), "name": name})
        except NoReverseMatch:
            continue
    return links
