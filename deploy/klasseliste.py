"""The class list from Canvas (LTI Names and Role Provisioning Services), made into Unix accounts.

Run as root with the class server's environment, with the hub's settings
(the same environment file as the hub):

    /opt/samskaping-kurs/env/bin/python deploy/klasseliste.py [--prov]

For each active member of the Canvas course with a course role, an account
named by the rule in course.instructor.lti.unix_name is made (or put in its
group) with deploy/add-accounts.sh, so students can be started before their
first log-in. A person who has left the course in Canvas (gone from the list,
or Inactive) is taken out of the course's groups: they cannot log in, and the
hub logs them out at its next check (course/hubauth.py); their home and files
stay until the end of term. Only accounts that came from Canvas (in the hub's
registry of LTI users) are ever taken out: accounts made by hand stay.

The Canvas course's addresses come from the course folder (.lti-kontekst.json,
saved by the hub at a launch), the key from the course folder as well.
"""

from __future__ import annotations

import argparse
import os
import pwd
import subprocess
import sys
from pathlib import Path

from course.hubauth import in_course, members
from course.instructor import lti

DEPLOY = Path(__file__).resolve().parent


def setting(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Hent klasselisten fra Canvas og lag eller steng kontoer.")
    parser.add_argument("--prov", action="store_true", help="vis hva som ville blitt gjort, uten å endre noe")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("Klasselisten synkroniseres av administrator (root), som lager kontoene.", file=sys.stderr)
        return 1
    students = setting("SAMSKAPING_STUDENTER", "samskaping-studenter")
    instructors = setting("SAMSKAPING_LAERERE", "samskaping-laerere")
    grader = setting("SAMSKAPING_RETTER", "samskaping-retter")
    course_dir = Path(setting("SAMSKAPING_KURSMAPPE", f"/home/{grader}/samskaping-kurs"))
    registry = lti.Registry(Path(setting("SAMSKAPING_HUB_STATE", "/var/lib/samskaping-kurs/hub")) / "lti-brukere.json")
    groups = {"student": students, "laerer": instructors}
    try:
        context = lti.Context.load(course_dir)
        roster = lti.members(context)
    except lti.LtiError as error:
        print(f"Feil: {error}", file=sys.stderr)
        return 1

    made, kept, refused, removed = [], [], [], []
    active = set()
    for member in roster:
        if not member.active or member.role is None:
            continue
        name = lti.unix_name(member.login_id, context.realm)
        if name is None:
            refused.append(f"{member.name or member.user_id}: innloggingsnavnet kan ikke brukes som brukernavn")
            continue
        holder = registry.holder(name)
        if holder not in (None, member.user_id):
            refused.append(f"{name}: brukernavnet tilhører en annen person")
            continue
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            entry = None
        in_groups = entry is not None and in_course(name, students, instructors)
        if holder is None and entry is not None and (entry.pw_uid < 1000 or not in_groups):
            refused.append(f"{name}: det finnes alt en konto med dette navnet utenfor kurset")
            continue
        active.add(name)
        if entry is not None and name in members(groups[member.role], missing_ok=True):
            kept.append(name)
            continue
        if not args.prov and not registry.claim(name, member.user_id):
            refused.append(f"{name}: brukernavnet tilhører en annen person")
            continue
        made.append(name)
        if not args.prov:
            subprocess.run([str(DEPLOY / "add-accounts.sh"), member.role, name], check=True,
                           env={**os.environ, "SAMSKAPING_STUDENTER": students, "SAMSKAPING_LAERERE": instructors})

    from_canvas = set(registry.read())
    for group in (students, instructors):
        for name in sorted(members(group, missing_ok=True) & from_canvas - active - {grader}):
            removed.append(f"{name} ({group})")
            if not args.prov:
                subprocess.run(["gpasswd", "--delete", name, group], check=True, capture_output=True)

    verb = "ville blitt" if args.prov else "ble"
    print(f"Klasselisten fra Canvas ({context.context_title or context.context_id}): {len(roster)} personer.")
    print(f"{len(made)} kontoer {verb} laget eller lagt i gruppen sin, {len(kept)} var i orden, "
          f"{len(removed)} {verb} tatt ut av kursets grupper (filene beholdes).")
    for line in removed:
        print(f"  tatt ut: {line}")
    for line in refused:
        print(f"  ikke laget: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
