"""What each staff group may do with reviews and action items (applied by a data migration).

Responders edit drafts and their own action items; incident managers also review, publish and
manage anyone's action items; managers also waive required reviews; product managers read."""

RESPONDER = [
    "postmortems.view_postmortem",
    "postmortems.change_postmortem",
    "postmortems.view_postmortemtimelineitem",
    "postmortems.view_actionitem",
    "postmortems.add_actionitem",
    "postmortems.change_actionitem",
]
INCIDENT_MANAGER = RESPONDER + [
    "postmortems.add_postmortem",
    "postmortems.review_postmortem",
    "postmortems.manage_action_items",
]
MANAGER = INCIDENT_MANAGER + [
    "postmortems.waive_postmortem",
]
PRODUCT_MANAGER = [
    "postmortems.view_postmortem",
    "postmortems.view_postmortemtimelineitem",
    "postmortems.view_actionitem",
]

GROUPS = {
    "Responder": RESPONDER,
    "Incident manager": INCIDENT_MANAGER,
    "Manager": MANAGER,
    "Product manager": PRODUCT_MANAGER,
}
