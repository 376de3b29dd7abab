"""Staff pages (`pages`) and the POST actions on the incident page (`actions`)."""

from .actions import (  # noqa: F401
    incident_add_note,
    incident_assign_role,
    incident_change_visibility,
    incident_change_severity,
    incident_responder,
    incident_transition,
    incident_update_impact,
)
from .pages import (  # noqa: F401
    dashboard,
    incident_declare,
    incident_detail,
    incident_list,
    render_incident_detail,
)
