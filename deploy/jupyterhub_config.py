"""JupyterHub for a class taking the course *Samskaping og velferdsledelse*.

One machine, real Unix accounts, a shared nbgrader exchange and a PostgreSQL
gradebook. Read it from top to bottom; every setting a server needs comes from
an environment variable (set by `make hub`, by a systemd unit or by the tests),
so this file is the same on every server and holds no password.

  SAMSKAPING_HUB_IP / _PORT     where students open the hub (127.0.0.1:8000; put TLS in front)
  SAMSKAPING_HUB_STATE          the hub's own files: its database, cookie secret, the proxy's pid
  SAMSKAPING_HUB_ENV            the environment every server runs from (deploy/build-env.sh)
  SAMSKAPING_STUDENTER          the Unix group of the students (samskaping-studenter)
  SAMSKAPING_LAERERE            the Unix group of the instructors (samskaping-laerere)
  SAMSKAPING_RETTER             the grading account that Formgrader runs as (samskaping-retter)
  SAMSKAPING_KURSMAPPE          the course folder in the grading account's home
  SAMSKAPING_KURS_ID            nbgrader's course id (samskaping)
  NBGRADER_EXCHANGE             the shared exchange (/srv/nbgrader/exchange)
  NBGRADER_DB_URL               the gradebook for Formgrader and `course grade` (PostgreSQL, peer auth)
  SAMSKAPING_KURSNAVN           the course's name on the hub's own pages (Samskaping og velferdsledelse)
  SAMSKAPING_INNLOGGING         how people log in: pam (default), feide, canvas (deploy/auth/), or
                                felles-passord (one shared password from SAMSKAPING_FELLES_PASSORD:
                                tests and demonstrations only)
  SAMSKAPING_GITCONFIG          git settings for every server: trusts the lesson repository
                                (/etc/samskaping-kurs/gitconfig, written by scripts/lag_studentrepo.py)
  SAMSKAPING_STOPP_UBRUKT       stop a server nobody has used for this many seconds (3600; 0: never)
  SAMSKAPING_SJEKK_UBRUKT       how often to look for such servers, in seconds (300)
  SAMSKAPING_AKTIVITET          how often the hub learns of activity, from the proxy and from each
                                server, in seconds (300, JupyterHub's default)
  SAMSKAPING_FRISTER_PORT       the port of the deadline service on 127.0.0.1 (the hub's port + 3)
  SAMSKAPING_KLASSEINNSIKT      the class overview: «på» (default; a student can say no), «samtykke»
                                (nothing is sent until a student says yes) or «av» (off for the course)
  SAMSKAPING_INNSIKT_PORT       the port of the class-insight service on 127.0.0.1 (the hub's port + 4)

Who can do what:
- Students and instructors log in and get their own JupyterLab, started as
  their own Unix account in their own (0700) home.
- Instructors (and only they) reach Formgrader, a hub-managed service that runs
  as the grading account in the course folder: user servers always start in
  the home folder, where Formgrader would not find the course's
  nbgrader_config.py. Students get 403 there.
- Everyone sees their own deadlines at /services/frister/ (the deadline
  service, also run as the grading account), and nobody else's.
- Each student's lessons send their first try at an activity, without a name,
  to /services/innsikt/ (the class-insight service, run as the grading
  account), unless the student has said no; only instructors see the counts
  (docs/personvern.md).
- Nobody is a hub admin by default: an admin could open every student's server.
"""

import os
import random
import secrets
import socket
import sys
from pathlib import Path

from course.hubauth import members

c = get_config()  # noqa: F821 (provided by traitlets when this file is loaded)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def setting(name: str, default: str) -> str:
    return os.environ.get(name) or default


ENV = Path(setting("SAMSKAPING_HUB_ENV", "/opt/samskaping-kurs/env"))
STATE = Path(setting("SAMSKAPING_HUB_STATE", "/var/lib/samskaping-kurs/hub"))
STUDENTS = setting("SAMSKAPING_STUDENTER", "samskaping-studenter")
INSTRUCTORS = setting("SAMSKAPING_LAERERE", "samskaping-laerere")
GRADER = setting("SAMSKAPING_RETTER", "samskaping-retter")
COURSE_DIR = setting("SAMSKAPING_KURSMAPPE", f"/home/{GRADER}/samskaping-kurs")
COURSE_ID = setting("SAMSKAPING_KURS_ID", "samskaping")
EXCHANGE = setting("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")
PORT = int(setting("SAMSKAPING_HUB_PORT", "8000"))

# --- Network: the proxy listens where students connect; everything else on loopback.
c.JupyterHub.bind_url = f"http://{setting('SAMSKAPING_HUB_IP', '127.0.0.1')}:{PORT}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(setting("SAMSKAPING_HUB_INTERN_PORT", str(PORT + 81)))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{setting('SAMSKAPING_PROXY_API_PORT', str(PORT + 1))}"
# configurable-http-proxy from npm, at the version package-lock.json records.
c.ConfigurableHTTPProxy.command = [setting("SAMSKAPING_PROXY", str(REPO / "node_modules/.bin/configurable-http-proxy"))]

# --- The hub's own state (not the gradebook): a small SQLite database, readable by root only.
STATE.mkdir(parents=True, exist_ok=True, mode=0o700)
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every server it started

# --- The hub's own pages (log-in, start-up, errors, home) in Norwegian, naming the course:
# deploy/templates/ first, JupyterHub's own templates behind them. The template variables:
#   kurs         the course's name, in every page's title and header
#   innlogging   the way in (as SAMSKAPING_INNLOGGING): "canvas" shows no log-in form, only the
#                way in from Canvas. A log-in file below adds variables with .update(), never "=".
COURSE_NAME = setting("SAMSKAPING_KURSNAVN", "Samskaping og velferdsledelse")
c.JupyterHub.template_paths = [str(HERE / "templates")]
c.JupyterHub.template_vars = {"kurs": COURSE_NAME, "innlogging": setting("SAMSKAPING_INNLOGGING", "pam")}

# --- Log-in: one file per way in (deploy/auth/), chosen by SAMSKAPING_INNLOGGING.
LOGIN = setting("SAMSKAPING_INNLOGGING", "pam")
if LOGIN == "felles-passord":
    # One password for every account in the course's groups: for tests and a
    # demonstration only (anyone with the password can log in as any student).
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = os.environ["SAMSKAPING_FELLES_PASSORD"]
    c.Authenticator.allowed_users = members(STUDENTS) | members(INSTRUCTORS)
else:
    LOGIN_FILES = {"pam": "pam.py", "feide": "feide.py", "canvas": "canvas_lti13.py"}
    if LOGIN not in LOGIN_FILES:
        sys.exit(f"Ukjent SAMSKAPING_INNLOGGING «{LOGIN}»: bruk pam, feide, canvas eller felles-passord.")
    login_file = HERE / "auth" / LOGIN_FILES[LOGIN]
    if not login_file.is_file():  # load_subconfig skips a missing file without a word
        sys.exit(f"Fant ikke innloggingsoppsettet {login_file}.")
    load_subconfig(str(login_file))  # noqa: F821

# --- Every person's own server: JupyterLab as their own Unix account, in their home.
SERVER_ENV = {
    "PATH": f"{ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin",
    "JUPYTER_PLATFORM_DIRS": "1",
    "NBGRADER_EXCHANGE": EXCHANGE,
    "SAMSKAPING_KURS_ID": COURSE_ID,
    # git trusts the lesson repository (owned by root) only if this file says so:
    # nbgitpuller clones it as the student (scripts/lag_studentrepo.py --gitconfig).
    "GIT_CONFIG_SYSTEM": setting("SAMSKAPING_GITCONFIG", "/etc/samskaping-kurs/gitconfig"),
}
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(ENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = SERVER_ENV
c.Spawner.start_timeout = 120
# How long the hub waits for a started server to answer. Servers that start at
# the same time share the CPU and all answer late together: on 2 cores about 37
# start per minute (make benchmark-hub), so at a deadline with 90 log-ins at once
# the last answered after 2.5 minutes and a 120-second limit failed some of them
# (the student sees "Spawn failed" and starts again, adding load). 300 seconds
# covers more students at once than the memory of such a machine holds.
c.Spawner.http_timeout = 300

# A port of its own for every person's server. JupyterHub's default draws a free
# port by binding port 0 and closing it again (jupyterhub.utils.random_port); the
# server binds it only once it has started, seconds or minutes later. When many
# servers start at once, two can draw the same port: on Linux a quarter of all
# draws of 90 ports hold a duplicate (jupyterhub#3005). The server that binds
# second exits, and the hub, which takes any answer on the port as "up", sends
# that student to the other student's server, which answers 404: the student is
# locked out until the hub notices (make benchmark-hub found it at 90 log-ins).
# Here each person keeps one port while the hub runs, no two the same, from a
# range below Linux's ephemeral ports (32768-60999), where bind(0), kernels and
# outgoing connections take theirs.
SERVER_PORTS = range(20000, 32000)
server_ports: dict[str, int] = {}


def bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("", port))
        except OSError:
            return False
    return True


def own_port(spawner) -> None:
    """Give the server the person's own port (kept from the last start if still free), unlike anyone else's."""
    name = spawner.user.name
    others = {port for user, port in server_ports.items() if user != name}
    for port in [server_ports.get(name), *random.sample(SERVER_PORTS, 100)]:
        if port is not None and port not in others and bindable(port):
            server_ports[name] = spawner.port = port
            return
    raise RuntimeError(f"Fant ingen ledig port for serveren til {name}. Be administratoren se i loggen til huben.")


c.Spawner.pre_spawn_hook = own_port

# --- Idle servers are stopped (jupyterhub-idle-culler, a hub service), to free
# memory for the ones in use. "Idle" means no request to the server's API and
# no kernel or terminal output, so an open JupyterLab tab that polls the server
# counts as use. An hour outlasts a lecture break or a long read; nothing is
# lost (JupyterLab saves notebooks every two minutes; the kernel's variables go,
# and a lesson is run again from the top). docs/drift.md gives the figures.
IDLE_LIMIT = int(setting("SAMSKAPING_STOPP_UBRUKT", "3600"))
ACTIVITY_INTERVAL = int(setting("SAMSKAPING_AKTIVITET", "300"))
c.JupyterHub.last_activity_interval = ACTIVITY_INTERVAL  # how often the hub reads the proxy's activity
SERVER_ENV["JUPYTERHUB_ACTIVITY_INTERVAL"] = str(ACTIVITY_INTERVAL)  # how often each server reports it

# --- Formgrader for the instructors: a service run by the hub as the grading account.
# The gradebook, for the services that run as the grading account; without it, the
# grading account's own nbgrader configuration names it (or SQLite in the course folder).
GRADEBOOK_ENV = {"NBGRADER_DB_URL": os.environ["NBGRADER_DB_URL"]} if os.environ.get("NBGRADER_DB_URL") else {}
FORMGRADER_PORT = int(setting("SAMSKAPING_FORMGRADER_PORT", str(PORT + 2)))
c.JupyterHub.services = [
    {
        "name": "formgrader",
        "display": True,
        "oauth_no_confirm": True,
        "url": f"http://127.0.0.1:{FORMGRADER_PORT}",
        "command": [str(ENV / "bin" / "jupyterhub-singleuser"), "--ServerApp.default_url=/lab"],
        "user": GRADER,
        "cwd": COURSE_DIR,
        "environment": {
            **SERVER_ENV,
            # Formgrader's page is shown in a frame inside the grader's JupyterLab.
            # JupyterHub >= 4.1 forbids frames on every server it starts
            # ("frame-ancestors 'none'"); this service's own configuration allows
            # frames from its own pages (deploy/formgrader/jupyter_server_config.py).
            "JUPYTER_CONFIG_PATH": str(ENV / "etc" / "samskaping" / "formgrader"),
            **GRADEBOOK_ENV,
        },
    }
]
# The deadline service (course/frister_tjeneste.py): each person's own deadlines,
# read from the deadlines file in the course folder (which students cannot
# read), so an extension is seen by its student and nobody else. It runs as
# the grading account. Everyone who can log in may use it (the default role
# "user", extended below); each server's own token may too, so that a
# student's submit can ask for the student's deadline
# (SAMSKAPING_FRISTER_URL, course/exchange/).
FRISTER_PORT = int(setting("SAMSKAPING_FRISTER_PORT", str(PORT + 3)))
FRISTER_URL = f"http://127.0.0.1:{FRISTER_PORT}"
SERVER_ENV["SAMSKAPING_FRISTER_URL"] = f"{FRISTER_URL}/services/frister"
c.JupyterHub.services.append({
    "name": "frister",
    "display": True,
    "oauth_no_confirm": True,
    "url": FRISTER_URL,
    "command": [str(ENV / "bin" / "python"), "-P", "-m", "course.frister_tjeneste"],
    "user": GRADER,
    "cwd": COURSE_DIR,
    "environment": {"PATH": SERVER_ENV["PATH"], "JUPYTER_PLATFORM_DIRS": "1", "NBGRADER_EXCHANGE": EXCHANGE,
                    "SAMSKAPING_KURS_ID": COURSE_ID},
})
# JupyterHub's server role (activity and access to the server itself), and the deadline service.
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server", "access:services!service=frister"]
USER_SCOPES = ["self", "access:services!service=frister"]

# The class-insight service (course/instructor/innsikt_tjeneste.py, docs/personvern.md): a
# student's lesson sends its first try at an activity with the server's token
# (SAMSKAPING_INNSIKT_URL, course/innsikt.py); the service counts it without
# storing who, in the gradebook's database. Only holders of the custom scope
# below (the instructors' group) see the counts; everyone else gets 403. It
# runs as the grading account, whose own nbgrader configuration names the
# database. SAMSKAPING_KLASSEINNSIKT=av leaves it out: nothing is sent; =samtykke
# sends nothing until the student says yes (docs/personvern.md: the legal basis).
INSIGHT_MODE = setting("SAMSKAPING_KLASSEINNSIKT", "på")
if INSIGHT_MODE not in ("på", "samtykke", "av"):
    sys.exit(f"Ukjent SAMSKAPING_KLASSEINNSIKT «{INSIGHT_MODE}»: bruk på, samtykke eller av.")
INSIGHT = INSIGHT_MODE != "av"
if INSIGHT_MODE == "samtykke":
    SERVER_ENV["SAMSKAPING_INNSIKT_SAMTYKKE"] = "1"
if INSIGHT:
    INSIGHT_PORT = int(setting("SAMSKAPING_INNSIKT_PORT", str(PORT + 4)))
    INSIGHT_URL = f"http://127.0.0.1:{INSIGHT_PORT}"
    SERVER_ENV["SAMSKAPING_INNSIKT_URL"] = f"{INSIGHT_URL}/services/innsikt"
    c.JupyterHub.custom_scopes = {
        "custom:klasseinnsikt:les": {"description": "Se klasseoversikten: tall for hele klassen, uten navn"},
    }
    c.JupyterHub.services.append({
        "name": "innsikt",
        "display": True,
        "oauth_no_confirm": True,
        # The lecturer's scope travels with the OAuth token to the service, which checks it.
        "oauth_client_allowed_scopes": ["custom:klasseinnsikt:les"],
        "url": INSIGHT_URL,
        "command": [str(ENV / "bin" / "python"), "-P", "-m", "course.instructor.innsikt_tjeneste"],
        "user": GRADER,
        "cwd": COURSE_DIR,
        "environment": {"PATH": SERVER_ENV["PATH"], "JUPYTER_PLATFORM_DIRS": "1", **GRADEBOOK_ENV},
    })
    c.Spawner.server_token_scopes.append("access:services!service=innsikt")
    USER_SCOPES.append("access:services!service=innsikt")

c.JupyterHub.load_groups = {INSTRUCTORS: {"users": sorted(members(INSTRUCTORS))}}
c.JupyterHub.load_roles = [
    {
        # JupyterHub's default role for every user ("self"), the deadline service and the class overview's posts.
        "name": "user",
        "scopes": USER_SCOPES,
    },
    {
        "name": "formgrader-for-laerere",
        "description": "Instructors open Formgrader (the grading account's server)",
        "scopes": ["access:services!service=formgrader", "read:services!service=formgrader"],
        "groups": [INSTRUCTORS],
    },
]
if INSIGHT:
    c.JupyterHub.load_roles.append({
        "name": "klasseinnsikt-for-laerere",
        "description": "Instructors see the class overview (counts for the whole class, no names)",
        "scopes": ["custom:klasseinnsikt:les", "access:services!service=innsikt"],
        "groups": [INSTRUCTORS],
    })
if IDLE_LIMIT > 0:
    c.JupyterHub.services.append({
        "name": "stopp-ubrukte-servere",
        "command": [str(ENV / "bin" / "python"), "-m", "jupyterhub_idle_culler", f"--timeout={IDLE_LIMIT}",
                    f"--cull-every={setting('SAMSKAPING_SJEKK_UBRUKT', '300')}"],
        # An unprivileged account: the culler needs nothing but its token for the hub's API.
        "user": "nobody",
        "cwd": "/",
        "environment": {"PATH": SERVER_ENV["PATH"]},
    })
    # What jupyterhub-idle-culler's documentation asks for: list servers and their activity, stop them.
    c.JupyterHub.load_roles.append({
        "name": "stopp-ubrukte-servere",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["stopp-ubrukte-servere"],
    })

# --- Servers started ahead of a seminar (deploy/forhandsstart.py, run by root or a timer before the
# seminar begins): a service of the hub's with a token of its own, kept in the hub's state folder
# (root only), allowed to list the users and start their servers and nothing else. A started server
# counts as used from its start, so the idle limit above runs from then (docs/drift.md, «Seminaret»).
PRESTART_TOKEN = STATE / "forhandsstart.token"
if not PRESTART_TOKEN.exists():
    PRESTART_TOKEN.touch(mode=0o600)
    PRESTART_TOKEN.write_text(secrets.token_hex(32) + "\n")
c.JupyterHub.services.append({"name": "forhandsstart", "api_token": PRESTART_TOKEN.read_text().strip()})
c.JupyterHub.load_roles.append({
    "name": "forhandsstart",
    "description": "Start the students' servers before a seminar",
    "scopes": ["list:users", "read:users:name", "read:servers", "servers"],
    "services": ["forhandsstart"],
})
