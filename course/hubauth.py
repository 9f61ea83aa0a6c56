"""Who is in the course, from the course's Unix groups, asked at the moment of asking.

Shared by the hub's log-in configurations (deploy/auth/feide.py,
deploy/auth/canvas_lti13.py): a person may log in while their account is in
the students' or the instructors' group, so an account added during the term
(deploy/add-accounts.sh, the first launch from Canvas, the class-list sync) can
log in without a hub restart, and one taken out of the groups cannot.
"""

from __future__ import annotations

import grp
import pwd


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
