"""Log-in through PAM: the server's own Unix accounts, or the institution's directory.

Loaded by deploy/jupyterhub_config.py (``load_subconfig``) when
SAMSKAPING_INNLOGGING=pam. PAM asks the operating system, so the people who can
log in are exactly the Unix accounts the spawner starts servers as:

- accounts made on the server with deploy/add-accounts.sh (private 0700 homes,
  umask 077, in the course's groups), with a password set by the administrator;
- or accounts from the institution's directory (LDAP or Active Directory
  through SSSD/winbind, with pam_mkhomedir ``umask=0077`` making private homes),
  where the directory's groups play the role of the course's groups.

Either way the accounts exist before anyone logs in: PAM creates none, and the
hub does not either (``create_system_users`` stays False).

Environment (the same variables the hub's configuration and add-accounts.sh read):
  SAMSKAPING_STUDENTER   the students' Unix group (samskaping-studenter)
  SAMSKAPING_LAERERE     the instructors' Unix group (samskaping-laerere)
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when this file is loaded)

STUDENTS = os.environ.get("SAMSKAPING_STUDENTER") or "samskaping-studenter"
INSTRUCTORS = os.environ.get("SAMSKAPING_LAERERE") or "samskaping-laerere"

c.JupyterHub.authenticator_class = "pam"

# Only members of the course's groups get in. The group is looked up at every
# log-in, so an account added later needs no restart of the hub.
c.PAMAuthenticator.allowed_groups = {STUDENTS, INSTRUCTORS}
# PAM's account stack runs too (expired or locked accounts are refused); the
# default, stated because it matters.
c.PAMAuthenticator.check_account = True
# No PAM sessions: JupyterHub opens and closes them at the wrong times (off by
# default since JupyterHub 2.2).
c.PAMAuthenticator.open_sessions = False
# Never create accounts at log-in: deploy/add-accounts.sh (or the directory) makes them.
c.PAMAuthenticator.create_system_users = False
# Valid Unix user names only, the rule deploy/add-accounts.sh applies.
c.Authenticator.username_pattern = r"^[a-z_][a-z0-9_-]{0,31}$"
