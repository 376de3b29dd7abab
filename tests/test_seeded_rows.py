"""The rows the migrations seeded, put back after a test that commits (tests/conftest.py): the
database then holds exactly the snapshot, so the next check finds it intact and does not flush
and load everything again."""

import pytest
from django.db import connection

from tests.conftest import COMMITTED_DB, _row_counts, restore_seeded_rows


@pytest.mark.postgres
@COMMITTED_DB
def test_seeded_rows_put_back_count_as_the_snapshot_with_no_history_rows_added(postgres):
    restore_seeded_rows()
    assert _row_counts() == connection._test_seeded_row_counts
