#!/usr/bin/env bash
# The system packages `make test` needs beyond Python: Debian's headless Chromium (browser tests, driven
# by Playwright with executable_path=/usr/bin/chromium, never a downloaded browser), a font for the PDF
# reports (WeasyPrint) and git.  Installs what is missing where it can (root with apt-get, as on a fresh
# CI machine); otherwise stops with one line naming the packages and the command.  PDF text is extracted
# in Python (pypdf), so poppler is not needed.
set -euo pipefail

missing=""
[ -x "${SEXTANT_CHROMIUM:-/usr/bin/chromium}" ] || missing="$missing chromium"
command -v git >/dev/null 2>&1 || missing="$missing git"
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing="$missing fonts-dejavu-core"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "make test: installing$missing (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    exit 0
fi
echo "make test: missing system packages:$missing; install them with: sudo apt-get install -y$missing" >&2
exit 1
