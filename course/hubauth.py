"""Who is in the course, from the course's Unix groups, asked at the moment of asking.

Shared by the hub's configuration (deploy/jupyterhub_config.py, deploy/auth/)
and the scripts beside it (deploy/klasseliste.py, deploy/forhandsstart.py): a person may log in while their account is in
the students' or the instructors' group, so an account added during the term
(deploy/add-accounts.sh, the first launch from Canvas, the class-list sync) can
log in without a hub restart, and one taken out of the groups cannot.
"""

from __future__ import annotations

import grp
import pwd
import sys


def in_course(username: str, students_group: str, instructors_group: str) -> bool:
    """Is ``username`` a member of the course's students' or instructors' group now?"""
    for group in (students_group, instructors_group):
        try:
            entry = grp.getgrnam(group)
        except KeyError:
            continue
        if username in entry.gr_mem:
            return True
        try:
            if pwd.getpwnam(username).pw_gid == entry.gr_gid:
                return True
        except KeyError:
            return False
    return False


def members(group: str, *, missing_ok: bool = False) -> set[str]:
    """The Unix accounts in ``group`` as a supplementary group (deploy/add-accounts.sh puts them there).

    A group that does not exist has no members with ``missing_ok``; otherwise
    it stops the caller (the hub's configuration, a script run by the
    administrator) with a Norwegian message that says what to do.
    """
    try:
        return set(grp.getgrnam(group).gr_mem)
    except KeyError:
        if missing_ok:
            return set()
        sys.exit(f"Fant ikke Unix-gruppen «{group}». Opprett kontoene med deploy/add-accounts.sh først.")
