#!/usr/bin/env bash
# Back up the course's gradebook (PostgreSQL) into a folder only root can read.
#
#   sudo deploy/backup-gradebook.sh [--mappe MAPPE] [--behold N] [KONTO [DATABASE]]
#
# KONTO is the grading account (default: SAMSKAPING_RETTER, else
# samskaping-retter) and DATABASE its gradebook (default: the database in
# NBGRADER_DB_URL when that is set, as in /etc/samskaping-kurs/hub.env after a
# restore under a new name; else gradebook_samskaping, the name
# deploy/setup-server.sh gives it). The dump is written with
# `pg_dump --format=custom` to MAPPE (default: SAMSKAPING_SIKKERHETSKOPI, else
# /var/backups/samskaping-kurs; 0700, root's) as DATABASE-YYYY-MM-DD_HHMMSS.mmm.dump
# (0600, root's). Only the newest N dumps of DATABASE are kept (default:
# SAMSKAPING_BEHOLD, else 30: a month of nightly dumps); older ones are deleted,
# but only after a new dump has been written and checked. Restore one with
# deploy/restore-gradebook.sh. A systemd timer runs this every night
# (deploy/systemd/samskaping-karakterbok-backup.*, with hub.env's variables).
#
# pg_dump runs as the grading account, over the socket with peer
# authentication, the way the grading tools themselves connect: the role owns
# the database and everything in it, so its dump is complete, and the nightly
# job needs no superuser session. Root writes the file, so the grading account
# cannot read or change the backups.
#
# Exit status: 0 the dump is written and checked; 1 it failed (nothing was
# deleted, the message says why); 2 wrong arguments.
#
# Another cluster: PGHOST (the socket folder; default: the host in
# NBGRADER_DB_URL, else /run/postgresql) and PG_BIN (the folder with pg_dump
# and pg_restore, default: PATH), as for deploy/setup-gradebook.sh.
set -euo pipefail
source "$(dirname "$0")/names.sh"  # check_account_name, check_database_name

folder=${SAMSKAPING_SIKKERHETSKOPI:-/var/backups/samskaping-kurs}
keep=${SAMSKAPING_BEHOLD:-30}
# The gradebook's address, as setup-gradebook.sh writes it: postgresql+psycopg2://@/DATABASE?host=SOCKET
url_database=""
url_socket=""
if [[ "${NBGRADER_DB_URL:-}" =~ ^postgresql[^:]*://[^/]*/([a-z0-9_]+)(\?(.*&)?host=([^&]+))? ]]; then
    url_database=${BASH_REMATCH[1]}
    url_socket=${BASH_REMATCH[4]}
fi
socket=${PGHOST:-${url_socket:-/run/postgresql}}
if [ -n "${PG_BIN:-}" ]; then
    PATH="$PG_BIN:$PATH"
fi
usage="Bruk: $0 [--mappe MAPPE] [--behold N] [KONTO [DATABASE]]"

args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --mappe) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; folder=$2; shift 2 ;;
        --behold) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; keep=$2; shift 2 ;;
        -h|--help) echo "$usage"; exit 0 ;;
        -*) echo "Ukjent valg «$1». $usage" >&2; exit 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
if [ ${#args[@]} -gt 2 ]; then
    echo "$usage" >&2
    exit 2
fi
grader=${args[0]:-${SAMSKAPING_RETTER:-samskaping-retter}}
database=${args[1]:-${url_database:-gradebook_samskaping}}

check_account_name "$grader"
check_database_name "$database"
if ! [[ "$keep" =~ ^[1-9][0-9]*$ ]]; then
    echo "--behold må være et helt tall, 1 eller mer (fikk «$keep»)." >&2
    exit 2
fi
if [[ "$folder" != /* ]]; then
    echo "Oppgi mappen for sikkerhetskopiene som en full sti (som begynner med /), ikke «$folder»." >&2
    exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "Sikkerhetskopien tas av administrator (root): sudo $0" >&2
    exit 1
fi
fail() {
    echo "SIKKERHETSKOPIEN FEILET: $*" >&2
    exit 1
}
if ! id "$grader" >/dev/null 2>&1; then
    fail "Fant ingen Unix-konto «$grader». Oppgi retterkontoen: $0 KONTO [DATABASE]"
fi
if ! command -v pg_dump >/dev/null || ! command -v pg_restore >/dev/null; then
    fail "Fant ikke pg_dump og pg_restore. Installer Debians pakke: apt-get install postgresql-client"
fi

umask 077
mkdir -p "$folder"
chown root:root "$folder"
chmod 0700 "$folder"

name="$database-$(date +%Y-%m-%d_%H%M%S.%3N).dump"
partial=$(mktemp "$folder/.$name.XXXXXX")
errors=$(mktemp)
trap 'rm -f "$partial" "$errors"' EXIT

cd /  # the grading account cannot enter root's working folder
# The grading account cannot read the file: root's shell writes pg_dump's output.
if ! runuser -u "$grader" -- pg_dump --host="$socket" --dbname="$database" --no-password --format=custom \
    >"$partial" 2>"$errors"; then
    fail "pg_dump kunne ikke ta kopi av karakterboken «$database» som «$grader»: $(head -c 600 "$errors")
Sjekk at PostgreSQL kjører (systemctl status postgresql), og at databasen finnes (deploy/setup-gradebook.sh)."
fi
if [ ! -s "$partial" ]; then
    fail "pg_dump skrev en tom fil for «$database». Ingen gamle kopier er slettet."
fi
# A readable archive, holding the gradebook's tables: an empty database (wrong
# name, or nbgrader has not made its tables yet) must not push out good copies.
if ! contents=$(pg_restore --list "$partial" 2>"$errors"); then
    fail "Kopien av «$database» kan ikke leses av pg_restore: $(head -c 600 "$errors") Ingen gamle kopier er slettet."
fi
tables=$(grep -c " TABLE DATA " <<<"$contents" || true)
if [ "$tables" -eq 0 ]; then
    fail "Karakterboken «$database» har ingen tabeller, så kopien er tom. Er det riktig database?
(nbgrader lager tabellene første gang Formgrader eller course grade åpner karakterboken.) Ingen gamle kopier er slettet."
fi
chmod 0600 "$partial"
mv "$partial" "$folder/$name"

# Keep the newest $keep dumps of this database (the names sort by time).
shopt -s nullglob
dumps=("$folder/$database"-[0-9]*.dump)
removed=0
if [ ${#dumps[@]} -gt "$keep" ]; then
    for old in "${dumps[@]:0:${#dumps[@]}-keep}"; do
        rm -f -- "$old"
        removed=$((removed + 1))
    done
fi
size=$(du -h "$folder/$name" | cut -f1)
echo "Sikkerhetskopi av karakterboken «$database»: $folder/$name ($size, $tables tabeller)."
echo "Beholder de $keep nyeste kopiene; $removed eldre er slettet."
