#!/usr/bin/env bash
# Build the class server's Python environment, the one JupyterHub, every
# student's and instructor's server, Formgrader and nbgrader run from.
#
# Every account must be able to run it, so it is built from Debian's Python
# (/usr/bin/python3, not a Python under /root or in a 0700 home) into a folder
# that everyone can read (default /opt/samskaping-kurs/env), from the same lock
# file as the developer's .venv. The course package is installed as a copy, not
# as a link to this checkout: on the server the course folder is never the
# checkout the environment was built from.
#
#   HUB_ENV=/opt/samskaping-kurs/env deploy/build-env.sh
#
# Run as root. The packages are installed again only when the lock changes (into
# a new folder, see below); the course package is reinstalled every time (a few
# seconds).
set -euo pipefail
# This machine's pip configuration names package folders that may be missing;
# pip warns about each of them on every install. Those lines only are dropped.
exec 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)

repo=$(cd "$(dirname "$0")/.." && pwd)
HUB_ENV=${HUB_ENV:-/opt/samskaping-kurs/env}
HUB_PYTHON=${HUB_PYTHON:-/usr/bin/python3}
lock="$repo/requirements/lock.txt"
umask 022

if [ "$(id -u)" -ne 0 ]; then
    echo "Miljøet for kursserveren bygges av administrator (root): sudo $0" >&2
    exit 1
fi
if ! "$HUB_PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    echo "Fant ikke venv i $HUB_PYTHON. Installer Debians pakke: apt-get install python3-venv" >&2
    exit 1
fi

# Each lock gets its own folder, $HUB_ENV-<first 12 digits of its checksum>,
# and $HUB_ENV is a link to the current one. A new lock during the term is
# built beside the old environment, and the link is switched in one step
# (rename): servers already running keep the environment they started from
# (a venv cannot be moved, its scripts name their own folder), new servers get
# the new one. The previous environment is kept; older ones are removed.
lock_sum=$(cat "$lock" "$repo/pyproject.toml" | sha256sum | cut -d' ' -f1)
target="$HUB_ENV-${lock_sum:0:12}"
previous=$(readlink "$HUB_ENV" 2>/dev/null || true)
# setuptools builds the course package in build/ inside the repository and reuses
# what is there: a module since moved or removed would go into the copy as well.
rm -rf "$repo/build"
if [ ! -x "$target/bin/python" ] || [ "$(cat "$target/.lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
    echo "Bygger kursserverens miljø i $target (fra $HUB_PYTHON og $lock) ..."
    rm -rf "$target"
    "$HUB_PYTHON" -m venv "$target"
    "$target/bin/python" -m pip install --quiet --upgrade "pip>=24"
    # The course and what the server needs (the "hub" extra), at the lock's versions;
    # the developers' test tools (pytest, Playwright) are left out.
    "$target/bin/python" -m pip install --quiet -c "$lock" "$repo[hub]"
    echo "$lock_sum" > "$target/.lock-sha256"
else
    # The course package itself, as a copy (no build isolation: Debian's venv has setuptools).
    "$target/bin/python" -m pip install --quiet --no-deps --no-build-isolation --force-reinstall "$repo"
fi
if [ "$previous" != "$target" ]; then
    if [ -d "$HUB_ENV" ] && [ ! -L "$HUB_ENV" ]; then
        rm -rf "$HUB_ENV"  # an environment from before this layout (a folder, not a link)
    fi
    ln -sfn "$target" "$HUB_ENV.ny"
    mv -T "$HUB_ENV.ny" "$HUB_ENV"
    echo "Kursserverens miljø $HUB_ENV er nå $target."
fi
for old in "$HUB_ENV"-*; do
    if [[ "$old" =~ -[0-9a-f]{12}$ ]] && [ "$old" != "$target" ] && [ "$old" != "$previous" ]; then
        rm -rf "$old"
    fi
done

# JupyterLab's settings for everyone on the server, and nbgrader's for the
# students (the exchange and the secure exchange classes); the grader's
# nbgrader_config.py in the course folder comes on top of this one.
install -D -m 644 "$repo/config/jupyterlab-overrides.json" "$HUB_ENV/share/jupyter/lab/settings/overrides.json"
install -D -m 644 "$repo/deploy/nbgrader_config.py" "$HUB_ENV/etc/jupyter/nbgrader_config.py"
# nbgrader's instructor panels (Create Assignment, Course List, Formgrader) are
# hidden in every JupyterLab on the server, and shown again in the Formgrader
# service, whose settings (JUPYTER_CONFIG_PATH, that service only) come first.
install -D -m 644 "$repo/deploy/labconfig/studenter/page_config.json" "$HUB_ENV/etc/jupyter/labconfig/page_config.json"
install -D -m 644 "$repo/deploy/formgrader/labconfig/page_config.json" \
    "$HUB_ENV/etc/samskaping/formgrader/labconfig/page_config.json"
install -D -m 644 "$repo/deploy/formgrader/jupyter_server_config.py" \
    "$HUB_ENV/etc/samskaping/formgrader/jupyter_server_config.py"
chmod -R a+rX "$target"
