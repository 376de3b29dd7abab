"""SLA clocks, escalation and notifications (see the SLA and escalation issue)."""
