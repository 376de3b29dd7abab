"""What a post-mortem adds to message templates: revenue restored and ROI (as defined in
`roi`) and the review's link. Registered with the war room's template variables when the app
is ready; computed from the incident's review, or from the incident alone before there is one."""

from __future__ import annotations

from django.conf import settings

from incidents.warroom.rendering import register_variables

from . import roi
from .models import PostMortem
from .selectors import postmortem_roi

PERIOD_WORDS = dict(PostMortem.RevenuePeriod.choices)


def postmortem_variables(incident) -> dict[str, str]:
    postmortem = (PostMortem.objects.filter(incident_id=incident.pk)
                  .select_related("incident").first()) if incident.pk else None
    if postmortem is not None:
        result = postmortem_roi(postmortem)
        link = f"{settings.SITE_URL}{postmortem.get_absolute_url()}"
    else:
        # No review yet: what the incident's own figures give (no cost, so no ROI).
        result = roi.compute(roi.RoiInputs(
            started_at=incident.detected_at, ended_at=incident.resolved_at,
            revenue_impact_per_hour=incident.revenue_impact_per_hour))
        link = "to follow when the review is scheduled"
    currency = incident.currency
    restored = ("not quantified" if result.restored_per_period is None else
                f"{currency} {roi.display(result.restored_per_period)} "
                f"{PERIOD_WORDS[result.period]}")
    return {
        "revenue_restored": restored,
        "revenue_lost": ("not quantified" if result.revenue_lost is None
                         else f"{currency} {roi.display(result.revenue_lost)}"),
        "resolution_cost": ("not calculated yet" if result.resolution_cost is None
                            else f"{currency} {roi.display(result.resolution_cost)}"),
        "roi": "not calculated yet" if result.roi_pct is None else roi.display(result.roi_pct, "%"),
        "postmortem_url": link,
    }


register_variables(postmortem_variables, {
    "revenue_restored": "Revenue restored per period, e.g. EUR 3,240,000.00 per month (revenue "
                        "impact per hour before minus after, times the review's period)",
    "revenue_lost": "Revenue lost: revenue impact per hour × duration (or the review's figure)",
    "resolution_cost": "Resolution cost: hours spent resolving × hourly rate (from the review)",
    "roi": "ROI %: (revenue restored per period − resolution cost) ÷ resolution cost × 100",
    "postmortem_url": "Post-mortem page address (internal: removed from e-mails to contacts)",
})
