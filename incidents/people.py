"""How people are named on pages, timelines and messages."""

SYSTEM = "Firebreak"


def display_name(user, *, missing: str = SYSTEM) -> str:
    """Full name, else username. `missing` names nobody: the system itself for automatic
    actions (the default), a dash or "not assigned" on pages."""
    if user is None:
        return missing
    return user.get_full_name() or user.get_username()
