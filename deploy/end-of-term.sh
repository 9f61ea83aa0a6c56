#!/usr/bin/env bash
# After the term: export the grades to an archive, then delete the students' data.
#
#   sudo deploy/end-of-term.sh ARKIVMAPPE            a dry run: lists what would be deleted
#   sudo deploy/end-of-term.sh ARKIVMAPPE --slett    exports the grades, then deletes
#
# First the grades are exported, as the grading account, with `course report`
# (karakterer.csv, one row per student, and the report) and `nbgrader export`
# (nbgrader-eksport.csv, with the time of each submission), into a new folder
# ARKIVMAPPE/<course id>-karakterer-<date and time>/ (0700, files 0600, root's).
# If the export fails or holds no student, nothing is deleted. Then, in this order:
#
#   - every account in the students' group: its processes, files it owns in
#     /tmp, /var/tmp, /dev/shm and at the top of the exchange, the account and
#     its home (members of the instructors' group, the grading account and
#     system accounts are never deleted, only named);
#   - the students' records in the hub's database (and those of hub users that
#     have no Unix account any more); the hub must be stopped first;
#   - the binding of user names to Canvas user ids (lti-brukere.json in the hub's state);
#   - the course's folder in the exchange (inbound, outbound, feedback);
#   - in the course folder, what nbgrader and the course's tools write about
#     students: submitted/, autograded/, feedback/, innleveringskontroll/,
#     downloaded/ (zip imports), rapport/, gradebook.db, nbgrader.log, the
#     pseudonym key, the deadlines seen by `course frister` (.frister-godkjent.json),
#     what was posted to Canvas (.canvas-karakterer.json) and the Canvas course's
#     addresses (.lti-kontekst.json),
#     the class overview's key (.klasseinnsikt-nokkel; its counts are in the
#     gradebook database, deleted below), and grade exports, the deadlines file (frister.csv) or LMS downloads
#     (*.csv, *.zip) at its top;
#   - the backups of the gradebook (deploy/backup-gradebook.sh);
#   - last, the gradebook database, and any other database the grading account's
#     role owns (a restored copy, say), so that a run stopped half-way can be
#     run again: it exports again before it deletes the rest.
#
# Kept: the instructors' accounts, the grading account and its role in
# PostgreSQL (deploy/setup-server.sh makes a new gradebook for it next term),
# the groups, and the course's own files (solutions/, exercises/, lessons/, ...).
#
# The names come from the same environment variables as deploy/setup-server.sh
# and deploy/jupyterhub_config.py: SAMSKAPING_STUDENTER, SAMSKAPING_LAERERE,
# SAMSKAPING_RETTER, SAMSKAPING_KURSMAPPE, SAMSKAPING_KURS_ID, NBGRADER_EXCHANGE,
# SAMSKAPING_HUB_ENV, SAMSKAPING_HUB_STATE; the backups' folder from
# SAMSKAPING_SIKKERHETSKOPI (as deploy/backup-gradebook.sh). Those the
# environment does not set are read from the hub's own settings,
# /etc/samskaping-kurs/hub.env (SAMSKAPING_MILJOFIL), as systemd gives them to
# the hub. The gradebook is the one the grading account's nbgrader
# configuration names (NBGRADER_DB_URL, when set, comes first, as for the hub).
# PGHOST (when the address has no socket), PG_ADMIN and PG_BIN as for
# deploy/setup-gradebook.sh.
#
# Exit status: 0 done (or the dry run listed everything); 1 refused or failed
# (the message says why and what to do); 2 wrong arguments.
set -Eeuo pipefail
trap 'echo "Skriptet stoppet uventet på linje $LINENO (se feilmeldingen over). Rett feilen, og kjør skriptet igjen." >&2' ERR

# The hub's settings (systemd's EnvironmentFile: NAME=value lines), for the names this
# script uses and the environment does not set. Read, never run.
settings=${SAMSKAPING_MILJOFIL:-/etc/samskaping-kurs/hub.env}
if [ -f "$settings" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
        if [[ "$line" =~ ^[[:space:]]*((SAMSKAPING|NBGRADER)_[A-Z_]+|PGHOST|PG_ADMIN|PG_BIN)=(.*)$ ]]; then
            name=${BASH_REMATCH[1]}
            value=${BASH_REMATCH[3]%"${BASH_REMATCH[3]##*[![:space:]]}"}  # without trailing blanks
            if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then
                value=${BASH_REMATCH[1]}
            fi
            [ -n "${!name+set}" ] || export "$name=$value"
        fi
    done <"$settings"
fi

# STUDENTS, INSTRUCTORS, GRADER, COURSE_DIR, COURSE_ID, EXCHANGE, HUB_ENV
source "$(dirname "$0")/names.sh"
HUB_STATE=${SAMSKAPING_HUB_STATE:-/var/lib/samskaping-kurs/hub}
BACKUPS=${SAMSKAPING_SIKKERHETSKOPI:-/var/backups/samskaping-kurs}
admin=${PG_ADMIN:-postgres}
if [ -n "${PG_BIN:-}" ]; then
    PATH="$PG_BIN:$PATH"
fi

usage="Bruk: $0 ARKIVMAPPE [--slett]   (uten --slett: en prøvekjøring som bare viser hva som blir slettet)"
archive=""
delete=0
for arg in "$@"; do
    case "$arg" in
        --slett) delete=1 ;;
        -h|--help) echo "$usage"; exit 0 ;;
        -*) echo "Ukjent valg «$arg». $usage" >&2; exit 2 ;;
        *) if [ -n "$archive" ]; then echo "$usage" >&2; exit 2; fi; archive=$arg ;;
    esac
done
if [ -z "$archive" ]; then
    echo "Oppgi mappen karakterene skal arkiveres i før noe slettes. $usage" >&2
    exit 2
fi
if [[ "$archive" != /?* ]]; then
    echo "Oppgi arkivmappen som en full sti (som begynner med /), ikke «$archive»." >&2
    exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "Studentdataene slettes av administrator (root): sudo $0 $*" >&2
    exit 1
fi
stop() {
    echo "$*" >&2
    exit 1
}
if [ -z "$COURSE_ID" ] || [[ "$COURSE_ID" == */* ]] || [ "$COURSE_ID" = . ] || [ "$COURSE_ID" = .. ]; then
    stop "Ugyldig kurs-ID «$COURSE_ID» (SAMSKAPING_KURS_ID): bruk bokstaver, sifre, - og _."
fi
if [[ "$EXCHANGE" != /?* ]]; then
    stop "Utvekslingsmappen må være en full sti (NBGRADER_EXCHANGE), ikke «$EXCHANGE»."
fi
if ! id "$GRADER" >/dev/null 2>&1; then
    stop "Fant ingen retterkonto «$GRADER» (SAMSKAPING_RETTER). Bruk de samme miljøvariablene som da serveren ble satt opp."
fi
if [ ! -f "$COURSE_DIR/nbgrader_config.py" ]; then
    stop "Fant ikke kursmappen $COURSE_DIR (SAMSKAPING_KURSMAPPE) med nbgrader_config.py."
fi
if [ ! -x "$HUB_ENV/bin/python" ]; then
    stop "Fant ikke kursserverens miljø i $HUB_ENV (SAMSKAPING_HUB_ENV); det bygges med deploy/build-env.sh."
fi
if ! getent group "$STUDENTS" >/dev/null; then
    stop "Fant ikke studentgruppen «$STUDENTS» (SAMSKAPING_STUDENTER)."
fi

size() {  # the total size of files or folders, for people
    du -shc "$@" 2>/dev/null | tail -1 | cut -f1
}
count() {  # count N SINGULAR PLURAL
    if [ "$1" -eq 1 ]; then echo "1 $2"; else echo "$1 $3"; fi
}
errors=$(mktemp)
export_dir=""
trap 'rm -f "$errors"; [ -z "$export_dir" ] || rm -rf "$export_dir"' EXIT

# --- Is the hub running? It holds its database open while it runs.
hub_db="$HUB_STATE/jupyterhub.sqlite"
hub_pids=""
if [ -f "$hub_db" ]; then
    # (find complains about processes that end while it looks: that is no error here)
    hub_pids=$({ find /proc/[0-9]*/fd -maxdepth 1 -lname "$hub_db" 2>/dev/null || true; } \
        | cut -d/ -f3 | sort -un | tr '\n' ' ')
    hub_pids=${hub_pids% }
fi
if [ "$delete" -eq 1 ] && [ -n "$hub_pids" ]; then
    stop "Huben kjører (prosess $hub_pids har $hub_db åpen). Stopp huben først
(systemctl stop samskaping-hub), og kjør skriptet igjen. Ingenting er slettet."
fi

# --- As the grading account, in the course folder, with the environment Formgrader has: where
# the gradebook is (nbgrader's own configuration decides), and with --slett the grades,
# exported with `course report` and `nbgrader export` (in one process: each new one costs
# seconds of imports).
if [ "$delete" -eq 1 ]; then
    export_dir=$(mktemp -d /tmp/samskaping-eksport.XXXXXX)
    chown "$GRADER" "$export_dir"
    chmod 0700 "$export_dir"
fi
grader_home=$(getent passwd "$GRADER" | cut -d: -f6)
if ! where=$(cd "$COURSE_DIR" && runuser -u "$GRADER" -- env -i HOME="$grader_home" USER="$GRADER" \
        LOGNAME="$GRADER" PATH="$HUB_ENV/bin:/usr/bin:/bin" LANG=C.UTF-8 JUPYTER_PLATFORM_DIRS=1 \
        NBGRADER_EXCHANGE="$EXCHANGE" SAMSKAPING_KURS_ID="$COURSE_ID" \
        ${NBGRADER_DB_URL:+NBGRADER_DB_URL="$NBGRADER_DB_URL"} \
        "$HUB_ENV/bin/python" - ${export_dir:+"$export_dir"} 2>"$errors" <<'PY'
import contextlib
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from course.instructor.common import gradebook_url, last_error, nbgrader

root = Path.cwd()
url = make_url(gradebook_url(root))
host = url.query.get("host", "")
print(url.get_backend_name(), url.database or "", host if isinstance(host, str) else host[0], sep="\n", flush=True)
if len(sys.argv) > 1:
    from course.instructor.cli import main as course

    out = Path(sys.argv[1])
    with contextlib.redirect_stdout(sys.stderr):
        if course(["--kurs", str(root), "report", "--mappe", str(out / "rapport"), "--csv", str(out / "karakterer.csv")]):
            sys.exit("course report feilet (se over).")
    proc = nbgrader(root, "export", "--to", str(out / "nbgrader-eksport.csv"), in_process=True)
    if proc.returncode != 0:
        sys.exit(f"nbgrader export feilet: {last_error(proc)}")
PY
); then
    if [ -z "$where" ]; then
        stop "Fant ikke karakterboken i nbgrader-oppsettet til «$GRADER»: $(tail -3 "$errors")"
    fi
    stop "Eksporten av karakterene feilet, så ingenting er slettet: $(tail -3 "$errors")
Er alt slettet allerede (karakterboken også), er det ingenting mer å gjøre."
fi
{ read -r backend; read -r database; read -r socket; } <<<"$where"
socket=${socket:-${PGHOST:-/run/postgresql}}
if [ "$delete" -eq 1 ]; then
    rows=$(($(wc -l <"$export_dir/karakterer.csv") - 1))
    if [ "$rows" -lt 1 ] || [ "$(wc -l <"$export_dir/nbgrader-eksport.csv")" -lt 2 ]; then
        stop "Eksporten av karakterene er tom (ingen studenter i karakterboken), så ingenting er slettet.
Sjekk at karakterboken er den riktige: kjør course report i kursmappen som «$GRADER»."
    fi
fi

# --- The gradebook databases: the configured one, and any other the grading account's role owns.
databases=()
db_sizes=""
if [ "$backend" = postgresql ]; then
    if ! [[ "$database" =~ ^[a-z_][a-z0-9_]{0,62}$ ]]; then
        stop "Uventet navn på karakterdatabasen: «$database». Slett den for hånd (DROP DATABASE)."
    fi
    if ! db_sizes=$(cd / && runuser -u "$admin" -- psql -h "$socket" -d postgres -X -q -t -A -F ' ' \
            -v ON_ERROR_STOP=1 -v database="$database" -v grader="$GRADER" -f - 2>&1 <<'SQL'
SELECT datname, pg_size_pretty(pg_database_size(oid)) FROM pg_database
 WHERE datname = :'database' OR datdba = (SELECT oid FROM pg_roles WHERE rolname = :'grader')
 ORDER BY datname <> :'database', datname;
SQL
    ); then
        stop "Fikk ikke kontakt med PostgreSQL som «$admin» på $socket: $db_sizes"
    fi
    databases=("$database")
    for name in $(cut -d' ' -f1 <<<"$db_sizes"); do
        [ "$name" = "$database" ] || databases+=("$name")
    done
fi
backups=()
shopt -s nullglob
for name in "${databases[@]}"; do
    backups+=("$BACKUPS/$name"-[0-9]*.dump)
done

# --- In the course folder: what nbgrader and the course's tools write about students.
course_items=()
for item in submitted autograded feedback innleveringskontroll downloaded rapport \
    gradebook.db gradebook.db-journal nbgrader.log .pseudonymnokkel .frister-godkjent.json \
    .klasseinnsikt-nokkel .canvas-karakterer.json .lti-kontekst.json; do
    if [ -e "$COURSE_DIR/$item" ] || [ -L "$COURSE_DIR/$item" ]; then
        course_items+=("$item")
    fi
done
tracked=""
if [ -d "$COURSE_DIR/.git" ]; then
    tracked=$(git -c safe.directory="$COURSE_DIR" -C "$COURSE_DIR" ls-files -- '*.csv' '*.zip' 2>/dev/null || true)
fi
for path in "$COURSE_DIR"/*.csv "$COURSE_DIR"/*.zip; do
    name=${path##*/}
    grep -qxF -- "$name" <<<"$tracked" || course_items+=("$name")
done
shopt -u nullglob
exchange_course="$EXCHANGE/$COURSE_ID"

# --- The students: the students' group, never an instructor, the grader or a system account.
students=()
spared=()
for user in $(getent group "$STUDENTS" | cut -d: -f4 | tr ',' ' '); do
    uid=$(id -u "$user" 2>/dev/null) || continue
    if [ "$user" = "$GRADER" ] || [ "$uid" -lt 1000 ] || id -nG "$user" | tr ' ' '\n' | grep -qxF "$INSTRUCTORS"; then
        spared+=("$user")
    else
        students+=("$user")
    fi
done
uid_test=()
for user in "${students[@]}"; do
    [ ${#uid_test[@]} -eq 0 ] || uid_test+=(-o)
    uid_test+=(-uid "$(id -u "$user")")
done
stray_files() {  # files the students own in shared temporary folders and at the top of the exchange
    [ ${#uid_test[@]} -gt 0 ] || return 0
    find /tmp /var/tmp /dev/shm -xdev -mindepth 1 \( "${uid_test[@]}" \) -print 2>/dev/null || true
    if [ -d "$EXCHANGE" ]; then
        find "$EXCHANGE" -mindepth 1 -maxdepth 1 \( "${uid_test[@]}" \) -print 2>/dev/null || true
    fi
}
strays=$(stray_files | wc -l)

# --- The hub's records of students, through JupyterHub's own models.
hub_records() {  # hub_records list|slett: prints the hub's users that are students or have no Unix account
    [ -f "$hub_db" ] || return 0
    "$HUB_ENV/bin/python" - "$hub_db" "$1" "${students[@]}" <<'PY'
import pwd
import sqlite3
import sys
from urllib.parse import quote

from jupyterhub import orm

path, mode, *students = sys.argv[1:]
session = orm.new_session_factory(f"sqlite:///{path}")()


def gone(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return True
    return False


users = [u for u in session.query(orm.User).order_by(orm.User.name) if u.name in students or gone(u.name)]
print(" ".join(u.name for u in users))
if mode == "slett":
    for user in users:
        # The user's servers, tokens, group and role memberships go with it (JupyterHub's
        # cascades); the OAuth client of a server that did not stop cleanly is named after it.
        client = f"jupyterhub-user-{quote(user.name)}"
        session.query(orm.OAuthClient).filter(orm.OAuthClient.identifier == client).delete()
        session.delete(user)
    session.commit()
    session.close()
    session.get_bind().dispose()
    # Deleted rows can stay in SQLite's free pages until the file is rewritten (Debian's SQLite
    # overwrites them, being built with SECURE_DELETE; others need not be).
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("VACUUM")
    db.close()
PY
}
hub_names=$(hub_records list) || stop "Kunne ikke lese hubens database $hub_db (se over)."

# --- What goes, and what stays
echo "Kurs «$COURSE_ID»: retterkontoen «$GRADER», kursmappen $COURSE_DIR."
if [ "$delete" -eq 0 ]; then
    echo "PRØVEKJØRING: Ingenting blir eksportert eller slettet. Med --slett eksporteres karakterene først"
    echo "til $archive, og så slettes dette:"
else
    echo "Karakterene er eksportert. Dette slettes nå:"
fi
if [ "$backend" = postgresql ]; then
    while read -r name db_size; do
        [ -n "$name" ] || continue
        if [ "$name" = "$database" ]; then
            echo "  Karakterboken: PostgreSQL-databasen «$name» ($db_size)"
        else
            echo "  En annen database som retterkontoen eier (en gjenopprettet kopi?): «$name» ($db_size)"
        fi
    done <<<"$db_sizes"
    grep -q "^$database " <<<"$db_sizes" || echo "  Karakterboken: PostgreSQL-databasen «$database» (finnes ikke)"
    echo "  Sikkerhetskopiene av den i $BACKUPS: $(count ${#backups[@]} fil filer)${backups:+ ($(size "${backups[@]}"))}"
else
    echo "  Karakterboken: $database (SQLite, slettes med kursmappen under)"
fi
if [ -d "$exchange_course" ]; then
    inbound=$(find "$exchange_course/inbound" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    feedback=$(find "$exchange_course/feedback" -type f 2>/dev/null | wc -l)
    echo "  Kursets mappe i utvekslingsmappen: $exchange_course ($(count "$inbound" innlevering innleveringer)," \
        "$(count "$feedback" tilbakemelding tilbakemeldinger), $(size "$exchange_course"))"
else
    echo "  Kursets mappe i utvekslingsmappen: $exchange_course (finnes ikke)"
fi
echo "  I kursmappen $COURSE_DIR:"
for item in "${course_items[@]}"; do
    suffix=""
    [ ! -d "$COURSE_DIR/$item" ] || suffix=/
    echo "    $item$suffix ($(size "$COURSE_DIR/$item"))"
done
[ ${#course_items[@]} -gt 0 ] || echo "    ingenting"
echo "  Kontoene i studentgruppen «$STUDENTS» (${#students[@]}), med hjemmemappe og prosesser:"
for user in "${students[@]}"; do
    home=$(getent passwd "$user" | cut -d: -f6)
    echo "    $user  $home ($(size "$home")), $(count "$(pgrep -c -U "$(id -u "$user")" || true)" prosess prosesser)"
done
echo "  Filer studentene eier i /tmp, /var/tmp, /dev/shm og øverst i $EXCHANGE: $strays"
echo "  Studentene i hubens database ($hub_db): ${hub_names:-ingen}"
if [ -f "$HUB_STATE/lti-brukere.json" ]; then
    echo "  Koblingen mellom brukernavn og Canvas-ID-er: $HUB_STATE/lti-brukere.json"
fi
echo "Dette blir stående: kontoene til lærerne, retterkontoen «$GRADER» og rollen dens i PostgreSQL, gruppene og"
echo "kursets egne filer (solutions/, exercises/, lessons/ og resten av depotet)."
if [ ${#spared[@]} -gt 0 ]; then
    echo "Blir også stående, selv om de er i studentgruppen (lærer, retter eller systemkonto): ${spared[*]}"
fi
if [ "$delete" -eq 0 ]; then
    if [ -n "$hub_pids" ]; then
        echo "Huben kjører nå (prosess $hub_pids). Stopp den før du kjører med --slett."
    fi
    echo "Kjør med --slett for å eksportere karakterene og slette alt over."
    exit 0
fi

# --- 1. The export, into the archive (root's only)
saved="$archive/$COURSE_ID-karakterer-$(date +%Y-%m-%d_%H%M%S)"
umask 077
mkdir -p "$archive"
mkdir "$saved"
cp -r "$export_dir/." "$saved/"
chown -R root:root "$saved"
find "$saved" -type d -exec chmod 0700 {} + -o -type f -exec chmod 0600 {} +
echo "Karakterene til $(count "$rows" student studenter) er lagret i $saved (karakterer.csv, nbgrader-eksport.csv, rapport/)."

# --- 2. The students' processes, stray files, accounts and homes
for user in "${students[@]}"; do
    uid=$(id -u "$user")
    deadline=$((SECONDS + 30))
    while pgrep -U "$uid" >/dev/null; do
        pkill -KILL -U "$uid" || true
        [ $SECONDS -lt $deadline ] || stop "Prosessene til «$user» ville ikke stoppe (pgrep -U $uid). Kjør skriptet igjen."
        sleep 0.1  # poll: the killed processes are being reaped
    done
done
stray_files | while IFS= read -r path; do rm -rf -- "$path"; done
for user in "${students[@]}"; do
    uid=$(id -u "$user")
    home=$(getent passwd "$user" | cut -d: -f6)
    remove=(--remove)
    if [[ "$home" != /?*/?* ]] || [ "$(stat -c %u "$home" 2>/dev/null)" != "$uid" ]; then
        remove=()  # a home that is not the student's own is left alone
        echo "Hjemmemappen «$home» til «$user» eies ikke av kontoen, og blir stående."
    fi
    # userdel gives up at once when another program holds the lock on /etc/passwd: try again.
    deadline=$((SECONDS + 60))
    until out=$(userdel "${remove[@]}" "$user" 2>&1); do
        if ! grep -q "try again later" <<<"$out" || [ $SECONDS -ge $deadline ]; then
            stop "Kunne ikke slette kontoen «$user»: $out"
        fi
        sleep 0.1  # poll: the other program releases the lock within moments
    done
done
echo "Slettet $(count ${#students[@]} konto kontoer) i studentgruppen med hjemmemapper, og $(count "$strays" fil filer) de eide andre steder."

# --- 3. The hub's records
if [ -f "$hub_db" ]; then
    names=$(hub_records slett) || stop "Kunne ikke slette studentene fra hubens database $hub_db (se over)."
    echo "Slettet fra hubens database: ${names:-ingen}"
fi
if [ -f "$HUB_STATE/lti-brukere.json" ]; then
    rm -f -- "$HUB_STATE/lti-brukere.json" "$HUB_STATE/lti-brukere.json.lock"
    echo "Slettet koblingen mellom brukernavn og Canvas-ID-er ($HUB_STATE/lti-brukere.json)."
fi

# --- 4. The exchange, 5. the course folder's student data, 6. the backups
rm -rf -- "$exchange_course"
for item in "${course_items[@]}"; do
    rm -rf -- "${COURSE_DIR:?}/$item"
done
echo "Slettet $exchange_course og $(count ${#course_items[@]} mappe "mapper og filer") med studentdata i kursmappen."
if [ ${#backups[@]} -gt 0 ]; then
    rm -f -- "${backups[@]}"
fi
echo "Slettet $(count ${#backups[@]} sikkerhetskopi sikkerhetskopier) av karakterboken i $BACKUPS."

# --- 7. Last, the gradebook databases
for name in "${databases[@]}"; do
    if ! out=$(cd / && echo "SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', :'database') \gexec" \
            | runuser -u "$admin" -- psql -h "$socket" -d postgres -X -q -v ON_ERROR_STOP=1 -v database="$name" -f - 2>&1); then
        stop "Kunne ikke slette databasen «$name»: $out"
    fi
    echo "Slettet databasen «$name»."
done
echo "Ferdig. Karakterene ligger i $saved. Følg institusjonens regler for hvor lenge de skal lagres."
