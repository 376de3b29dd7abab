"""One row of a table is the default (the incident type preselected when declaring, the ladder
incidents climb without a policy of their own, the calendar business-hours clocks count)."""

from __future__ import annotations

from django.db import models


class SoleDefault(models.Model):
    """Marking a row default takes the mark from the row that had it, so a manager (or a
    procedure file that names a new default) never meets "another row is already the default".
    The table still has a unique constraint on `is_default` where true, as the last guard."""

    class Meta:
        abstract = True

    def validate_constraints(self, exclude=None):
        exclude = set(exclude or ())
        if self.is_default:
            exclude.add("is_default")
        super().validate_constraints(exclude=exclude)

    def save(self, *args, **kwargs):
        if self.is_default:
            others = type(self)._default_manager.filter(is_default=True).exclude(pk=self.pk)
            for other in others:
                other.is_default = False
                other.save(update_fields=["is_default"])  # one by one: history shows the move
        super().save(*args, **kwargs)
