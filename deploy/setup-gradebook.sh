#!/usr/bin/env bash
# Create the course's gradebook in PostgreSQL on the class server: a role for
# the grader's Unix account (LOGIN, no password) and a database owned by it.
#
#   sudo deploy/setup-gradebook.sh GRADER [DATABASE]
#
# GRADER is the Unix account Formgrader and `course grade` run as; DATABASE
# defaults to gradebook_samskaping. At the end the script prints the
# NBGRADER_DB_URL to give the grader's processes (the course folder's
# nbgrader_config.py reads it; the hub sets it for the Formgrader service).
# Run it again at any time: it creates only what is missing.
#
# Authentication is peer over the Unix socket: PostgreSQL asks the kernel which
# Unix account is at the other end of the socket and lets it in only as the role
# of the same name. Debian's pg_hba.conf already has the line that does this,
#
#   local   all   all   peer
#
# so there is no password anywhere, in a file or in the URL. (Debian's lines for
# TCP, "host ... scram-sha-256", need a password, and the role has none.)
# Students cannot connect: their accounts have no role. CONNECT on the database
# is also revoked from PUBLIC, so no other role (another course's grader, say)
# can connect to it either; only its owner and PostgreSQL's superuser can.
#
# Needs Debian's PostgreSQL (apt-get install postgresql) with its cluster
# running. For another cluster: PGHOST (the socket folder, default
# /run/postgresql), PG_ADMIN (the Unix account that owns the cluster, default
# postgres) and PG_BIN (the folder with psql and pg_isready, default: PATH).
set -euo pipefail
source "$(dirname "$0")/names.sh"  # check_account_name, check_database_name

grader=${1:-}
database=${2:-gradebook_samskaping}
socket=${PGHOST:-/run/postgresql}
admin=${PG_ADMIN:-postgres}
if [ -n "${PG_BIN:-}" ]; then
    PATH="$PG_BIN:$PATH"
fi

if [ -z "$grader" ]; then
    echo "Bruk: $0 KONTO [DATABASE]   (KONTO er Unix-kontoen som Formgrader og course grade kjører som)" >&2
    exit 2
fi
check_account_name "$grader"
check_database_name "$database"
if [ "$(id -u)" -ne 0 ]; then
    echo "Karakterdatabasen settes opp av administrator (root): sudo $0 $*" >&2
    exit 1
fi
if ! id "$grader" >/dev/null 2>&1; then
    echo "Fant ingen Unix-konto «$grader». Opprett kontoen først (useradd), og kjør skriptet på nytt." >&2
    exit 1
fi
if ! id "$admin" >/dev/null 2>&1 || ! command -v psql >/dev/null || ! command -v pg_isready >/dev/null; then
    echo "Fant ikke PostgreSQL (kontoen «$admin», psql og pg_isready). Installer Debians pakke: apt-get install postgresql" >&2
    exit 1
fi
if ! pg_isready -q -h "$socket"; then
    echo "PostgreSQL svarer ikke på socketen i $socket. Start databasen (systemctl start postgresql) og prøv igjen." >&2
    exit 1
fi

cd /  # psql as the cluster's owner cannot enter root's working folder
# As the cluster's owner, over the socket (peer). Variables are passed as psql
# variables and quoted by PostgreSQL (format's %I and psql's :'name'), never
# pasted into the SQL text. Each statement is its own transaction (psql's
# autocommit), as CREATE DATABASE requires.
if ! runuser -u "$admin" -- psql -h "$socket" -d postgres -X -q -v ON_ERROR_STOP=1 \
    -v grader="$grader" -v database="$database" -f - >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'grader')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'grader') \gexec
-- An existing role: make sure it can log in and has no password.
SELECT format('ALTER ROLE %I LOGIN PASSWORD NULL', :'grader') \gexec
SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'database', :'grader', 'UTF8')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'database', :'grader') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'database') \gexec
SQL
then
    echo "Oppsettet av karakterdatabasen stoppet (se feilmeldingen fra PostgreSQL over). Rett feilen, og kjør skriptet på nytt." >&2
    exit 1
fi

url="postgresql+psycopg2://@/$database?host=$socket"
echo "Karakterdatabasen «$database» er klar. Den eies av rollen «$grader», som logger inn uten passord"
echo "over PostgreSQLs socket (peer). Studentene har ingen rolle og kommer ikke inn."
echo "Gi Formgrader-tjenesten og kontoen «$grader» denne miljøvariabelen:"
echo "NBGRADER_DB_URL=$url"
