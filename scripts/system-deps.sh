#!/usr/bin/env bash
# Install the Debian packages the tests need, if any is missing:
#   hunspell, hunspell-no    the Norwegian language gate (nb_NO dictionary; en_US
#   hunspell-en-us           for the English titles in reference lists)
#   chromium                 the browser tests (Playwright drives Debian's build)
#   bubblewrap               the sandbox that autograding runs student code in
#   npm                      fetches axe-core for the accessibility checks and
#                            configurable-http-proxy for the class server
#   python3-venv             the class server's environment (from Debian's Python)
#   postgresql               the class server's gradebook (tests start their own cluster)
#   git                      nbgitpuller, which brings the lessons to students
#   nginx, openssl           TLS in front of the hub (the example configuration is tested)
#   systemd                  systemd-analyze checks the class server's units
# Students running `make lab` need none of them.
set -euo pipefail

missing=()
command -v hunspell >/dev/null || missing+=(hunspell)
[ -f /usr/share/hunspell/en_US.dic ] || missing+=(hunspell-en-us)
[ -f /usr/share/hunspell/nb_NO.dic ] || missing+=(hunspell-no)
command -v chromium >/dev/null || missing+=(chromium)
command -v bwrap >/dev/null || missing+=(bubblewrap)
command -v npm >/dev/null || missing+=(npm)
/usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v git >/dev/null || missing+=(git)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v openssl >/dev/null || missing+=(openssl)
command -v systemd-analyze >/dev/null || missing+=(systemd)

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "Testene trenger disse Debian-pakkene: ${missing[*]}." >&2
    echo "Installer dem som administrator: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
echo "Installerer Debian-pakkene ${missing[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
