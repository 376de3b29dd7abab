"""Spotting statements that count every row of a big table, for the scale tests of the pages
and of the admin (they run on a few dozen rows, so the SQL, not the time, shows the fault)."""

import re


def counts_every_match(sql: str) -> bool:
    """A COUNT not bounded by a LIMITed subquery (a visibility rule's EXISTS ... LIMIT 1 bounds
    nothing). The firefighting banner's window count is fine: it counts only the open
    incidents of a firefighting level, which it reads by the state index."""
    if not re.search(r"\bCOUNT\(", sql, re.I) or re.search(r"LIMIT \d+\) subquery$", sql):
        return False
    return not (re.search(r"\bCOUNT\([^)]*\) OVER \(\)", sql)
                and '"incidents_incident"."state" IN' in sql)
