#!/usr/bin/env bash
# Install the class server's systemd units (deploy/systemd/): the hub, started
# at boot, a nightly backup of the gradebook, and the servers started before each
# seminar (installed, not enabled: the timetable is the course's own, docs/drift.md).
# The units name this checkout and the server's environment; both are filled in
# here, and each unit is checked with `systemd-analyze verify` before anything
# is enabled.
#
#   sudo deploy/install-systemd.sh
#
#   HUB_ENV       the environment from deploy/build-env.sh (/opt/samskaping-kurs/env)
#   SYSTEMD_DIR   where the units go (/etc/systemd/system); the tests use a folder of their own
#
# When systemd runs the machine, the units are enabled and started
# (PostgreSQL's own unit comes from Debian's package); otherwise this says so.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
HUB_ENV=${HUB_ENV:-/opt/samskaping-kurs/env}
SYSTEMD_DIR=${SYSTEMD_DIR:-/etc/systemd/system}
units=(samskaping-hub.service samskaping-karakterbok-backup.service samskaping-karakterbok-backup.timer
       samskaping-forhandsstart.service samskaping-forhandsstart.timer)

if [ "$(id -u)" -ne 0 ]; then
    echo "Systemd-enhetene installeres av administrator (root): sudo $0" >&2
    exit 1
fi
if [ ! -x "$HUB_ENV/bin/jupyterhub" ]; then
    echo "Fant ikke kursserverens miljø i $HUB_ENV. Bygg det først: sudo make hub-env" >&2
    exit 1
fi
if [ ! -x "$repo/node_modules/.bin/configurable-http-proxy" ]; then
    echo "Fant ikke configurable-http-proxy i $repo/node_modules. Installer det først: make node_modules/.package-lock.json" >&2
    exit 1
fi

mkdir -p "$SYSTEMD_DIR"
for unit in "${units[@]}"; do
    sed -e "s|@KURS@|$repo|g" -e "s|@MILJO@|$HUB_ENV|g" "$repo/deploy/systemd/$unit" > "$SYSTEMD_DIR/$unit.ny"
    chmod 644 "$SYSTEMD_DIR/$unit.ny"
    mv "$SYSTEMD_DIR/$unit.ny" "$SYSTEMD_DIR/$unit"
done

# systemd only warns about an unknown key and goes on without it: any word from
# the check counts as an error here.
if ! out=$(cd "$SYSTEMD_DIR" && systemd-analyze verify "${units[@]/#/./}" 2>&1) || [ -n "$out" ]; then
    echo "$out" >&2
    echo "Systemd-enhetene i $SYSTEMD_DIR har feil (se over); ingenting er slått på." >&2
    exit 1
fi
echo "Systemd-enhetene er installert i $SYSTEMD_DIR."

if [ "$SYSTEMD_DIR" = /etc/systemd/system ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now postgresql.service samskaping-hub.service samskaping-karakterbok-backup.timer
    echo "Huben og den nattlige sikkerhetskopien er slått på: systemctl status samskaping-hub"
    echo "Forhåndsstart før seminarene slår du på når timeplanen er satt (docs/drift.md, «Seminaret»)."
else
    echo "Systemd styrer ikke denne maskinen (eller enhetene ligger utenfor /etc/systemd/system), så ingenting er startet."
    echo "På kursserveren: systemctl daemon-reload && systemctl enable --now samskaping-hub samskaping-karakterbok-backup.timer"
fi
