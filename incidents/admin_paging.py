"""Admin changelists over big tables (incidents, timeline entries) without whole-table work.

Django's changelist counts every matching row twice per page (the paginator, and the "full
result count" next to the search box); at a million timeline entries each count is a
sequential scan. Here the paginator counts exactly up to a cap, with a LIMIT, and above it
takes PostgreSQL's planner estimate (EXPLAIN: reltuples scaled to the table's current size,
times the filters' selectivity), which costs nothing however big the table. Admins using it
set `show_full_result_count = False` too. On SQLite (the embedded single-site portal) the
count stays exact."""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Exists, OuterRef
from django.utils.functional import cached_property


class EstimatedCountPaginator(Paginator):
    """`count` is the planner's estimate when that is far above `exact_up_to` rows; else exact
    up to `exact_up_to` (a `SELECT COUNT(*) FROM (... LIMIT n)`), and the estimate above it
    (never below what was counted); `count_is_estimate` says which, for the page to write
    "about"."""

    exact_up_to = 10_000
    count_is_estimate = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not hasattr(queryset, "query"):
            return super().count
        estimate = self._planner_estimate(queryset)
        if estimate is not None and estimate > 2 * self.exact_up_to:
            # Far above the cap: even the capped count (10,000 rows joined to their incident
            # for the visibility rule) would cost more than the page itself.
            self.count_is_estimate = True
            return estimate
        counted = queryset.order_by()[: self.exact_up_to + 1].count()
        if counted <= self.exact_up_to:
            return counted
        if estimate is None:  # no planner to ask (SQLite): count them all
            return queryset.count()
        self.count_is_estimate = True
        return max(counted, estimate)

    @staticmethod
    def _planner_estimate(queryset) -> int | None:
        if connections[queryset.db].vendor != "postgresql":
            return None
        plan = json.loads(queryset.order_by().explain(format="json"))
        return int(plan[0]["Plan"]["Plan Rows"])


class IncidentManagerListFilter(admin.RelatedFieldListFilter):
    """The people managing at least one incident the viewer may see, as Django's
    RelatedOnlyFieldListFilter lists them, but found by one index probe per person (EXISTS on
    incident_manager) instead of a SELECT DISTINCT over every incident."""

    def field_choices(self, field, request, model_admin):
        from .people import display_name

        managed = model_admin.get_queryset(request).filter(incident_manager=OuterRef("pk"))
        people = (field.related_model._default_manager.filter(Exists(managed))
                  .order_by("first_name", "last_name", "username"))
        return [(person.pk, display_name(person)) for person in people]
