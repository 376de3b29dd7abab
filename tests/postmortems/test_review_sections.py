"""Editing a review one section at a time: what each section may hold, who may change the
planning, the words kept, and the root cause category, which belongs to the incident."""

import pytest

from incidents.errors import ActionRefused
from postmortems import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def review(resolved):
    return resolved("P1").postmortem


def test_the_analysis_sets_the_incidents_root_cause_category_with_a_reason(review, responder):
    review = services.postmortem_update(
        review, by=responder, section="analysis", root_cause="  Lock on orders  ",
        five_whys=[" Deploy ran a migration ", "", "   ", "It locked the table"],
        root_cause_category="database")

    review.refresh_from_db()
    incident = review.incident
    incident.refresh_from_db()
    assert (review.root_cause, review.five_whys) == (
        "Lock on orders", ["Deploy ran a migration", "It locked the table"])
    assert incident.root_cause_category == "database"
    change = incident.history.latest()
    assert (change.history_user, change.history_change_reason) == (
        responder, "Root cause category from the post-incident review")
    assert review.state == "drafting"
    assert review.history.latest().history_change_reason == "Edited analysis"


def test_the_same_category_again_leaves_the_incident_alone(review, responder):
    services.postmortem_update(review, by=responder, section="analysis",
                               root_cause_category="database")
    changes = review.incident.history.count()
    services.postmortem_update(review, by=responder, section="analysis",
                               root_cause="Lock", root_cause_category="database")
    assert review.incident.history.count() == changes


def test_a_section_takes_only_its_own_fields(review, responder):
    with pytest.raises(TypeError, match=r"Fields not in section summary: \['root_cause_category'\]"):
        services.postmortem_update(review, by=responder, section="summary",
                                   root_cause_category="database")
    with pytest.raises(ActionRefused, match="Unknown section “minutes”"):
        services.postmortem_update(review, by=responder, section="minutes", summary="x")
    review.incident.refresh_from_db()
    assert review.incident.root_cause_category == ""


def test_the_business_impact_section_is_saved_under_its_name_in_words(review, responder):
    services.postmortem_update(review, by=responder, section="business_impact",
                               hourly_rate=120)
    assert review.history.latest().history_change_reason == "Edited business impact"


def test_only_a_reviewer_may_change_the_planning_and_the_owner_then_takes_part(
    review, responder, incident_manager, make_user
):
    owner = make_user("Responder", username="olga")
    with pytest.raises(ActionRefused, match="change a review's owner or due time"):
        services.postmortem_update(review, by=responder, section="planning", owner=owner)
    review = services.postmortem_update(review, by=incident_manager, section="planning",
                                        owner=owner)
    assert review.state == "scheduled", "planning does not start the draft"
    assert review.incident.participants.filter(user=owner).exists()
