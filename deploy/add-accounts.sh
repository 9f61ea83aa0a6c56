#!/usr/bin/env bash
# Create Unix accounts for the class server, each with a private home (0700).
#
#   deploy/add-accounts.sh student kari ola ...     students
#   deploy/add-accounts.sh laerer  per ...          instructors (reach Formgrader)
#
# Debian's useradd makes homes that every account can read (0755): students
# could then read each other's work. Here every home is 0700 and the default
# umask for new files is 077. The groups are created when missing; their names
# come from SAMSKAPING_STUDENTER and SAMSKAPING_LAERERE (defaults
# samskaping-studenter and samskaping-laerere), the same variables the hub's
# configuration reads. Accounts that exist already are put in the group and get
# a private home; nothing else about them changes.
#
# In production the accounts usually come from the institution (PAM against the
# institution's directory, Feide or Canvas: see docs/kursserver.md); the Unix
# accounts the hub starts servers as must exist all the same.
set -euo pipefail

role=${1:-}
shift || true
case "$role" in
    student) group=${SAMSKAPING_STUDENTER:-samskaping-studenter} ;;
    laerer)  group=${SAMSKAPING_LAERERE:-samskaping-laerere} ;;
    *) echo "Bruk: $0 student|laerer BRUKERNAVN ..." >&2; exit 2 ;;
esac
if [ $# -eq 0 ]; then
    echo "Oppgi minst ett brukernavn: $0 $role BRUKERNAVN ..." >&2
    exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "Kontoer opprettes av administrator (root): sudo $0 $role $*" >&2
    exit 1
fi

getent group "$group" >/dev/null || groupadd "$group"
for name in "$@"; do
    if ! [[ "$name" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]]; then
        echo "Ugyldig brukernavn «$name»: bruk små bokstaver, sifre, - og _ (høyst 32 tegn, ikke siffer først)." >&2
        exit 2
    fi
    if ! id "$name" >/dev/null 2>&1; then
        useradd --create-home --shell /bin/bash --key UMASK=077 --key HOME_MODE=0700 "$name"
    fi
    usermod --append --groups "$group" "$name"
    home=$(getent passwd "$name" | cut -d: -f6)
    chmod 0700 "$home"
done
