"""The throwaway PostgreSQL databases the benchmark scripts build their data sets in.

Each script names its own database on --server (default postgres://postgres@127.0.0.1:5432,
trust auth) and points Django at it through DATABASE_URL, with DEBUG off as in production."""

from __future__ import annotations

import os


def _admin_connection(server: str):
    import psycopg

    return psycopg.connect(f"{server}/postgres", autocommit=True)


def ensure_database(server: str, name: str) -> None:
    with _admin_connection(server) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                    [name]).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def recreate_database(server: str, name: str) -> None:
    with _admin_connection(server) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(server: str, name: str) -> None:
    with _admin_connection(server) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def django_environment(server: str, name: str) -> dict:
    """Environment for a Django process (this one or a served one) on the database."""
    return {"DATABASE_URL": f"{server}/{name}", "DEBUG": "false",
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "ALLOWED_HOSTS": "127.0.0.1,localhost"}


def setup_django(server: str, name: str) -> None:
    os.environ.update(django_environment(server, name))
    import django

    django.setup()
