#!/usr/bin/env bash
# Restore a backup of the gradebook (deploy/backup-gradebook.sh) into a fresh
# database owned by the grading account, and say how to switch to it.
#
#   sudo deploy/restore-gradebook.sh FIL DATABASE [KONTO]
#
# FIL is a dump from deploy/backup-gradebook.sh (pg_dump --format=custom),
# DATABASE the name of the new database, KONTO the grading account (default:
# SAMSKAPING_RETTER, else samskaping-retter). A database that already exists and
# holds tables is never touched: restore under a new name, or rename the old
# one first. The database and its role are made by deploy/setup-gradebook.sh
# (peer authentication, no password, no access for anyone else); the dump is
# restored as the grading account, so it owns every table, as before.
#
# At the end the script prints the new NBGRADER_DB_URL and how to point the
# grader's configuration at it. Restoring under the old name (after renaming
# the damaged database) needs no change of configuration.
#
# Another cluster: PGHOST, PG_ADMIN and PG_BIN, as for deploy/setup-gradebook.sh.
set -euo pipefail
source "$(dirname "$0")/names.sh"  # check_account_name, check_database_name

repo=$(cd "$(dirname "$0")/.." && pwd)
socket=${PGHOST:-/run/postgresql}
admin=${PG_ADMIN:-postgres}
if [ -n "${PG_BIN:-}" ]; then
    PATH="$PG_BIN:$PATH"
fi
export PGHOST=$socket

dump=${1:-}
database=${2:-}
grader=${3:-${SAMSKAPING_RETTER:-samskaping-retter}}
if [ -z "$dump" ] || [ -z "$database" ] || [ $# -gt 3 ]; then
    echo "Bruk: $0 FIL DATABASE [KONTO]   (FIL er en sikkerhetskopi fra deploy/backup-gradebook.sh," >&2
    echo "DATABASE navnet på en ny database, for eksempel gradebook_samskaping_gjenopprettet)" >&2
    exit 2
fi
check_database_name "$database"
check_account_name "$grader"
if [ "$(id -u)" -ne 0 ]; then
    echo "Karakterboken gjenopprettes av administrator (root): sudo $0 $*" >&2
    exit 1
fi
if [ ! -f "$dump" ] || [ ! -s "$dump" ]; then
    echo "Fant ingen sikkerhetskopi i «$dump». Kopiene ligger i /var/backups/samskaping-kurs/ (ls -l der)." >&2
    exit 1
fi
if ! id "$grader" >/dev/null 2>&1; then
    echo "Fant ingen Unix-konto «$grader». Oppgi retterkontoen: $0 FIL DATABASE KONTO" >&2
    exit 1
fi
if ! contents=$(pg_restore --list "$dump" 2>&1); then
    echo "«$dump» er ikke en sikkerhetskopi som pg_restore kan lese (${contents:0:300})." >&2
    echo "Bruk en fil fra deploy/backup-gradebook.sh." >&2
    exit 1
fi
if ! grep -q " TABLE DATA " <<<"$contents"; then
    echo "Sikkerhetskopien «$dump» har ingen tabeller. Velg en annen (en nyere eller eldre fil i samme mappe)." >&2
    exit 1
fi
if ! pg_isready -q -h "$socket"; then
    echo "PostgreSQL svarer ikke på socketen i $socket. Start databasen (systemctl start postgresql) og prøv igjen." >&2
    exit 1
fi

cd /  # the grading account and the cluster's owner cannot enter root's working folder
admin_sql() {  # SQL as the cluster's owner; psql variables, quoted by PostgreSQL
    runuser -u "$admin" -- psql -h "$socket" -X -q -t -A -v ON_ERROR_STOP=1 -v database="$database" "$@"
}
exists=$(echo "SELECT count(*) FROM pg_database WHERE datname = :'database';" | admin_sql -d postgres -f - 2>&1) || {
    echo "Fikk ikke kontakt med PostgreSQL som «$admin»: $exists" >&2
    exit 1
}
if [ "$exists" != "0" ]; then
    tables=$(echo "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')
                     AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%';" \
             | admin_sql -d "$database" -f - 2>&1) || {
        echo "Kunne ikke se inn i databasen «$database»: $tables" >&2
        exit 1
    }
    if [ "$tables" != "0" ]; then
        echo "Databasen «$database» finnes allerede og har innhold ($tables tabeller, sekvenser og visninger)." >&2
        echo "Den blir ikke overskrevet. Gjør ett av dette:" >&2
        host=""
        [ "$socket" = /run/postgresql ] || host=" -h $socket"
        echo "  - Gjenopprett under et nytt navn: $0 $dump ${database}_gjenopprettet $grader" >&2
        echo "  - Eller stopp huben, gi den gamle databasen et annet navn og gjenopprett under det gamle navnet:" >&2
        echo "      sudo -u $admin psql$host -c 'ALTER DATABASE $database RENAME TO ${database}_skadet'" >&2
        echo "      $0 $dump $database $grader" >&2
        exit 1
    fi
fi

# The database and role, as on a new server (idempotent; an empty existing database is kept).
if ! setup=$(PGHOST="$socket" PG_ADMIN="$admin" "$repo/deploy/setup-gradebook.sh" "$grader" "$database" 2>&1); then
    echo "$setup" >&2
    echo "Fikk ikke laget databasen «$database» (se over). Ingenting er gjenopprettet." >&2
    exit 1
fi
url=$(sed -n 's/^NBGRADER_DB_URL=//p' <<<"$setup")

# Restored as the grading account, which then owns everything (--no-owner: the
# owner in the dump may be another account's role). One transaction: on an
# error, nothing is left half-restored. Root reads the file; the account gets it on stdin.
if ! errors=$(runuser -u "$grader" -- pg_restore --host="$socket" --dbname="$database" --no-password \
        --no-owner --no-privileges --exit-on-error --single-transaction <"$dump" 2>&1); then
    echo "pg_restore stoppet: ${errors:0:600}" >&2
    echo "Databasen «$database» er laget, men tom. Rett feilen og kjør skriptet på nytt med samme navn." >&2
    exit 1
fi
restored=$(runuser -u "$grader" -- psql -h "$socket" -d "$database" -X -q -t -A \
    -c "SELECT count(*) FROM submitted_assignment" 2>&1) || {
    echo "Karakterboken i «$database» kan ikke leses etter gjenopprettingen: $restored" >&2
    exit 1
}

home=$(getent passwd "$grader" | cut -d: -f6)
echo "Karakterboken er gjenopprettet fra $dump i databasen «$database» ($restored innleveringer)."
echo "Den eies av rollen «$grader», som logger inn uten passord over PostgreSQLs socket (peer)."
echo
echo "NBGRADER_DB_URL=$url"
echo
echo "Slik tar du den i bruk:"
echo "  1. Stopp huben (systemctl stop samskaping-hub), så ikke Formgrader skriver i den gamle karakterboken."
echo "  2. Sett den nye adressen i retterens nbgrader-oppsett (skrevet av deploy/setup-server.sh):"
echo "       runuser -u $grader -- sed -i 's|^c.CourseDirectory.db_url = .*|c.CourseDirectory.db_url = \"$url\"|' \\"
echo "         $home/.config/jupyter/nbgrader_config.py"
echo "  3. Sett den samme linjen i /etc/samskaping-kurs/hub.env (i stedet for en NBGRADER_DB_URL som står der):"
echo "       NBGRADER_DB_URL=$url"
echo "     Den leser Formgrader, og den nattlige sikkerhetskopien tar den databasen."
echo "     (Har databasen det gamle navnet, og hub.env ingen NBGRADER_DB_URL, trengs ikke trinn 2 og 3.)"
echo "  4. Start huben igjen (systemctl start samskaping-hub), og kjør course report i terminalen i Formgrader:"
echo "     karakterene skal være der."
