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

# The single sign-on browser test's OpenID Connect provider (tests/oidc_provider: panva's oidc-provider on
# Node.js, from the npm registry, pinned by its package-lock.json).  Node.js itself comes from apt.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
oidc_provider() {
    local dir
    dir="$(dirname "$0")/../tests/oidc_provider"
    [ -e "$dir/node_modules/oidc-provider/package.json" ] && return 0
    echo "make test: installing the test OpenID Connect provider (npm ci in tests/oidc_provider)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}
if [ -z "$missing" ]; then
    oidc_provider
    exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "make test: installing$missing (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    oidc_provider
    exit 0
fi
echo "make test: missing system packages:$missing; install them with: sudo apt-get install -y$missing" >&2
exit 1
