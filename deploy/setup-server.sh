#!/usr/bin/env bash
# Set up (or check) everything the class server needs besides the environment,
# idempotently: the course's Unix groups, the grading account and its course
# folder, the shared exchange, the gradebook database and the students' lesson
# repository. `make hub` runs it before starting the hub; the hub tests run it
# with names of their own.
#
# The same environment variables as deploy/jupyterhub_config.py (all optional):
#   SAMSKAPING_STUDENTER, SAMSKAPING_LAERERE   the Unix groups
#   SAMSKAPING_RETTER                          the grading account (Formgrader runs as it)
#   SAMSKAPING_KURSMAPPE                       its course folder (a git clone of this repository)
#   SAMSKAPING_KURS_ID                         nbgrader's course id
#   NBGRADER_EXCHANGE                          the shared exchange
#   SAMSKAPING_LEKSJONER                       the students' lesson repository (for nbgitpuller)
#   SAMSKAPING_HUB_ENV                         the environment (deploy/build-env.sh)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# STUDENTS, INSTRUCTORS, GRADER, COURSE_DIR, COURSE_ID, EXCHANGE, HUB_ENV
source "$repo/deploy/names.sh"
LESSONS=${SAMSKAPING_LEKSJONER:-/srv/samskaping/leksjoner}

if [ "$(id -u)" -ne 0 ]; then
    echo "Kursserveren settes opp av administrator (root): sudo $0" >&2
    exit 1
fi

# Groups, and the grading account with a private home.
for group in "$STUDENTS" "$INSTRUCTORS"; do
    getent group "$group" >/dev/null || groupadd "$group"
done
if ! id "$GRADER" >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash --key UMASK=077 --key HOME_MODE=0700 "$GRADER"
fi
chmod 0700 "$(getent passwd "$GRADER" | cut -d: -f6)"

# The course folder: a clone of this repository, owned by the grading account.
# Later updates during the term: `git pull` there, as the grading account.
if [ ! -f "$COURSE_DIR/nbgrader_config.py" ]; then
    git clone --quiet "$repo" "$COURSE_DIR"
    chown -R "$GRADER:$GRADER" "$COURSE_DIR"
    echo "Kursmappen er klonet til $COURSE_DIR."
fi

# The shared exchange, with the course's layout and permissions (course/exchange/):
# students create their own submissions in it, but cannot list, read, rename or
# delete anyone else's.
mkdir -p "$(dirname "$EXCHANGE")"
"$HUB_ENV/bin/python" -m course.exchange "$EXCHANGE" "$COURSE_ID" "$GRADER"

# The students' lesson repository (lessons and what they link to, never
# solutions/), published from this checkout, and the git setting that lets
# students' servers clone it (the hub points GIT_CONFIG_SYSTEM at it).
GITCONFIG=${SAMSKAPING_GITCONFIG:-/etc/samskaping-kurs/gitconfig}
"$HUB_ENV/bin/python" "$repo/scripts/lag_studentrepo.py" "$LESSONS" --kurs "$repo" --gitconfig "$GITCONFIG"

# The gradebook in PostgreSQL (deploy/setup-gradebook.sh): the grading account's
# own role and database, peer authentication over the socket, no password. When
# no PostgreSQL answers on the socket, Debian's cluster "main" is created (if
# missing) and started. The address goes into the grading account's own nbgrader
# configuration, so Formgrader, `course grade` and `course report` all use it,
# whichever way the instructor starts them; students have no role and no access.
export PGHOST=${PGHOST:-/run/postgresql}
if ! pg_isready -q -h "$PGHOST" && [ -z "${PG_ADMIN:-}" ] && command -v pg_ctlcluster >/dev/null; then
    version=$(ls /usr/lib/postgresql | sort -V | tail -1)
    pg_lsclusters --no-header | awk '{print $1, $2}' | grep -qx "$version main" || pg_createcluster "$version" main >/dev/null
    pg_ctlcluster "$version" main start
fi
url=$("$repo/deploy/setup-gradebook.sh" "$GRADER" | sed -n 's/^NBGRADER_DB_URL=//p')
if [ -z "$url" ]; then
    echo "Karakterdatabasen kunne ikke settes opp (se over)." >&2
    exit 1
fi
config_dir=$(runuser -u "$GRADER" -- env JUPYTER_PLATFORM_DIRS=1 HOME="$(getent passwd "$GRADER" | cut -d: -f6)" \
    "$HUB_ENV/bin/jupyter" --config-dir)
runuser -u "$GRADER" -- mkdir -p "$config_dir"
printf '%s\n' "# Written by deploy/setup-server.sh: the gradebook of this account's course folder." \
    "c = get_config()  # noqa: F821" "c.CourseDirectory.db_url = \"$url\"" \
    | runuser -u "$GRADER" -- tee "$config_dir/nbgrader_config.py" >/dev/null
echo "Karakterboken: $url (i $config_dir/nbgrader_config.py)"
