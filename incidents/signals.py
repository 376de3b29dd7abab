"""Domain events sent by `incidents.services` inside the writing transaction.

Receivers (SLA clocks, escalation, checklists, post-mortems) write their own rows in the same
transaction, so a timer is never lost or orphaned by a rollback. Anything that leaves the
process (mail, webhooks) must go through the notification outbox or `transaction.on_commit`.

All signals send `sender=Incident` and `incident=...`, `by=user-or-None`."""

from django.dispatch import Signal

incident_declared = Signal()  # incident, by
incident_transitioned = Signal()  # incident, by, transition (name), source, target, reason
incident_severity_changed = Signal()  # incident, by, old, new, reason
incident_role_changed = Signal()  # incident, by, role, old, new, reason
incident_impact_changed = Signal()  # incident, by, changed (dict field -> (old, new)), reason
incident_acknowledged = Signal()  # incident, by (acknowledged_at is set)
