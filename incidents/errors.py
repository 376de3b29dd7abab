"""Errors that services raise and pages turn into messages. Each carries reasons in words."""


class ActionRefused(Exception):
    """The action is not allowed now: a guard, a permission or the current state says no."""

    def __init__(self, reasons: list[str] | str):
        self.reasons = [reasons] if isinstance(reasons, str) else list(reasons)
        super().__init__(" ".join(self.reasons))


class Conflict(ActionRefused):
    """Someone else changed the incident since the user loaded it; nothing was written."""
