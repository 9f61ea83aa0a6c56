# Sourced by the class server's scripts (deploy/*.sh), not run: the names the
# parts of the server share, and the rules a name must follow.
#
# The defaults are those of deploy/jupyterhub_config.py; each comes from the
# same environment variable (set by the administrator, by systemd from
# /etc/samskaping-kurs/hub.env, or by the tests with names of their own).
STUDENTS=${SAMSKAPING_STUDENTER:-samskaping-studenter}
INSTRUCTORS=${SAMSKAPING_LAERERE:-samskaping-laerere}
GRADER=${SAMSKAPING_RETTER:-samskaping-retter}
COURSE_DIR=${SAMSKAPING_KURSMAPPE:-/home/$GRADER/samskaping-kurs}
COURSE_ID=${SAMSKAPING_KURS_ID:-samskaping}
EXCHANGE=${NBGRADER_EXCHANGE:-/srv/nbgrader/exchange}
HUB_ENV=${SAMSKAPING_HUB_ENV:-/opt/samskaping-kurs/env}

# A Unix account's name (the rule of deploy/add-accounts.sh) and a PostgreSQL
# database's name (unquoted identifiers only): exit 2 with a message otherwise.
check_account_name() {
    if ! [[ "$1" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]]; then
        echo "Ugyldig kontonavn «$1»: bruk små bokstaver, sifre, - og _ (høyst 32 tegn, ikke siffer først)." >&2
        exit 2
    fi
}
check_database_name() {
    if ! [[ "$1" =~ ^[a-z_][a-z0-9_]{0,62}$ ]]; then
        echo "Ugyldig databasenavn «$1»: bruk små bokstaver, sifre og _ (høyst 63 tegn, ikke siffer først)." >&2
        exit 2
    fi
}
