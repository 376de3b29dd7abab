import pytest

from incidents import services
from incidents.errors import ActionRefused

pytestmark = pytest.mark.django_db


def test_declared_incident_gets_a_yearly_reference_and_starts_reported(declare):
    first = declare()
    second = declare()
    assert first.reference.startswith("INC-")
    assert int(second.reference.rsplit("-", 1)[1]) == int(first.reference.rsplit("-", 1)[1]) + 1
    assert first.state == "reported"


def test_triage_is_refused_without_an_incident_manager(declare, incident_manager):
    incident = declare()
    with pytest.raises(ActionRefused, match="incident manager must be assigned"):
        services.incident_triage(incident, by=incident_manager)
