"""What each staff group may do with alert intake (applied by migration 0002)."""

SEE_ALERTS = ["intake.view_alert", "intake.view_integration", "intake.view_triagerule"]
CONFIGURE = SEE_ALERTS + [
    "intake.add_integration", "intake.change_integration",
    "intake.add_triagerule", "intake.change_triagerule", "intake.delete_triagerule",
    "intake.add_rulecondition", "intake.change_rulecondition", "intake.delete_rulecondition",
    "intake.view_rulecondition",
]

GROUPS = {
    "Responder": SEE_ALERTS,
    "Incident manager": SEE_ALERTS,
    "Manager": CONFIGURE,
}
