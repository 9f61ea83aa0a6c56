"""nbgrader's gradebook revision, found in this process instead of in a new one.

When nbgrader creates a gradebook, it asks for the newest revision of its
database schema by running the ``alembic heads`` command in a new process
(``nbgrader.api.get_alembic_version``): a second Python start-up that imports
alembic and nbgrader, about three seconds on a two-core server, every time a
new gradebook is made (each `course check` of an exercise makes two; each copy
of the course in the tests one or more). The answer is a constant of the
installed nbgrader: the head of the migration scripts it ships. :func:`install`
lets nbgrader read it with alembic's own API in this process, once.

The course's ``nbgrader_config.py`` calls :func:`install`, so every nbgrader
command run in the course folder uses it. tests/test_cli_units.py checks that it
gives what ``alembic heads`` gives.
"""

from __future__ import annotations

from functools import cache


@cache
def alembic_head() -> str:
    """The head revision of nbgrader's migration scripts, as ``alembic heads`` prints it first."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    config = Config()
    config.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


def install() -> None:
    import nbgrader.api

    nbgrader.api.get_alembic_version = alembic_head
