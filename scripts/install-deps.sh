#!/usr/bin/env bash
# Installs the Debian packages that building and testing Mailroom need, and only those that are missing.
# Idempotent: when everything is present it only asks dpkg, finds Cyrus and Courier unpacked, and exits.
set -euo pipefail

packages=(
    # build: C libraries reached through pkg-config
    pkg-config libpq-dev libcurl4-openssl-dev libgmime-3.0-dev libssl-dev libxml2-dev
    # Python 3.11 runtime and its test modules: part of the required host set
    libpython3.11-testsuite
    # test environment: real servers
    postgresql-15 dovecot-imapd dovecot-lmtpd postfix openssl
    # Cyrus IMAP and Courier-IMAP run from their unpacked .debs (scripts/lib/unpack-servers.sh); these are
    # the libraries and tools they need that conflict with nothing: SASL (sasldb, saslpasswd2) for Cyrus,
    # and the shared libraries both link against that Dovecot's set lacks
    sasl2-bin libsasl2-modules libclamav12 libical3 libpcre3 libxapian30 libzephyr4
    libcourier-unicode4 libgamin0 libidn12 libltdl7 libgdbm6 libgnutls30
    # the OAuth 2.0 token server of the tests (scripts/lib/oauth_token_server.py)
    python3
    # make fuzz: seed corpora are cut from the tests' string literals (scripts/fuzz/seeds.pl)
    perl
)

missing=()
for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "installed" ]] || missing+=("$pkg")
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
unpack_servers() { "$ROOT/scripts/lib/unpack-servers.sh" "${MAILROOM_TESTENV_DIR:-$ROOT/.testenv}"; }

if ((${#missing[@]} == 0)); then
    unpack_servers
    exit 0
fi

if ((EUID != 0)); then
    echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Postfix is configured per test run (scripts/testenv.sh); the system-wide instance stays unconfigured.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
unpack_servers
