#!/usr/bin/env bash
# `make demo`: the main job end to end on the zero-configuration default.
#
#   1. installs missing Debian packages and builds `mailroom`;
#   2. starts the local mail servers (scripts/testenv.sh up: Dovecot IMAP + LMTP, Postfix MX) unless they run;
#   3. creates the demo mailboxes support@acme.test, care@globex.test and sales@globex.test with known
#      passwords, empties their INBOXes, and delivers examples/mail/*.eml to them over SMTP;
#   4. with no MAILROOM_DATABASE_URL, so mailroom uses its embedded PostgreSQL under ./.mailroom:
#      `mailroom apply` both example manifests, `mailroom worker --until-idle` (prints the table), and a taste
#      of `mailroom export --tenant acme`;
#   5. stops what it started: the mail servers and the embedded PostgreSQL, each only if it was not running
#      before.
#
# Re-running is safe. Each run empties the demo INBOXes and delivers the samples again; the database keeps
# what earlier runs stored, so a second run shows the same messages under "linked" (recognised by
# Message-ID, not stored twice) instead of "new". `rm -rf .mailroom` starts over from an empty database.
# Needs root (packages, servers that run as their own users).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

T="${MAILROOM_TESTENV_DIR:-$ROOT/.testenv}"
MX_PORT=14025
MAIL_DIR="$ROOT/examples/mail"
DELIVERY_TIMEOUT=${DEMO_DELIVERY_TIMEOUT:-60}

# The demo mailboxes, and the variables the example manifests read their passwords from (env:NAME).
MAILBOXES=(support@acme.test care@globex.test sales@globex.test)
declare -A PASSWORD_VARS=(
    [support@acme.test]=ACME_SUPPORT_PASSWORD
    [care@globex.test]=GLOBEX_CARE_PASSWORD
    [sales@globex.test]=GLOBEX_SALES_PASSWORD
)
export ACME_SUPPORT_PASSWORD=${ACME_SUPPORT_PASSWORD:-demo-acme-support}
export GLOBEX_CARE_PASSWORD=${GLOBEX_CARE_PASSWORD:-demo-globex-care}
export GLOBEX_SALES_PASSWORD=${GLOBEX_SALES_PASSWORD:-demo-globex-sales}

# The demo shows the zero-configuration default: the embedded cluster and its own secret key.
unset MAILROOM_DATABASE_URL MAILROOM_SECRET_KEY
export MAILROOM_LOG_LEVEL=${MAILROOM_LOG_LEVEL:-warning}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { echo "demo: error: $*" >&2; exit 1; }

((EUID == 0)) || die "run as root: it installs packages and starts servers that run as their own users"

# --- build --------------------------------------------------------------------------------------------

step "Packages and build"
scripts/install-deps.sh
swift build --product mailroom
MAILROOM="$(swift build --show-bin-path)/mailroom"

# --- stop on exit only what this run started ---------------------------------------------------------

servers_started=0
database_started=0
crlf=""
cleanup() {
    local status=$?
    [[ -z "$crlf" ]] || rm -f "$crlf"
    if ((database_started)); then
        "$MAILROOM" db stop >/dev/null || status=1
        echo "demo: stopped the embedded PostgreSQL"
    fi
    if ((servers_started)); then
        scripts/testenv.sh down || status=1
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- mail servers -------------------------------------------------------------------------------------

step "Mail servers (Dovecot IMAP/LMTP, Postfix MX on 127.0.0.1)"
# Servers that already run (another checkout's, or a developer's) are used and left running.
# (Read the status whole: `status | grep -q` under pipefail could fail on SIGPIPE and misread it.)
servers_before=$(scripts/testenv.sh status)
if [[ "$servers_before" != *running* ]]; then servers_started=1; fi
scripts/testenv.sh up
# shellcheck source=/dev/null
source "$T/env"
# The demo's servers listen on loopback with a self-signed certificate: the outbound host policy
# refuses both unless the operator allows them, as here (set after the env file, which another
# checkout may have written).
export MAILROOM_ALLOWED_HOSTS=127.0.0.1/32,::1/128,localhost
export MAILROOM_INSECURE_HOSTS=127.0.0.1/32,::1/128,localhost
DOVEADM=(doveadm -c "$MAILROOM_TEST_DOVECOT_CONF")

# --- mailboxes ----------------------------------------------------------------------------------------

step "Demo mailboxes"
# A passwd-file per user (format "address:{PLAIN}password::::::"), read by Dovecot at the user's first
# lookup; written under a temporary name and renamed so Dovecot never reads half a line.
write_user() {
    local address=$1 password=$2 dir=$MAILROOM_TEST_DOVECOT_USERS_DIR tmp
    tmp=$(mktemp "$dir/.tmp-XXXXXX")
    printf '%s:{PLAIN}%s::::::\n' "$address" "$password" >"$tmp"
    chgrp "$(stat -c %g "$dir")" "$tmp"
    chmod 640 "$tmp"
    mv "$tmp" "$dir/$address"
}
for address in "${MAILBOXES[@]}"; do
    var=${PASSWORD_VARS[$address]}
    write_user "$address" "${!var}"
    # Empty INBOX, so that this run's delivery is all there is to import. UIDVALIDITY stays, new mail gets
    # higher UIDs: the worker's cursor simply moves on.
    "${DOVEADM[@]}" expunge -u "$address" mailbox INBOX all
    printf '  %-20s password from $%s\n' "$address" "$var"
done

# --- delivery -----------------------------------------------------------------------------------------

step "Delivering examples/mail/*.eml through Postfix (127.0.0.1:$MX_PORT)"
# The unfolded header block of a message file.
headers() { LC_ALL=C sed -e '/^\r\?$/q' "$1" | LC_ALL=C sed -e 's/\r$//' | LC_ALL=C awk '/^[ \t]/ { line = line " " $0; next } { if (line != "") print line; line = $0 } END { if (line != "") print line }'; }
# The first address in a header field's value: <addr>, or a bare addr.
first_address() { grep -oE '<[^>]+>|[^ <>,"]+@[^ <>,"]+' | head -n1 | tr -d '<>'; }

declare -A expected=()
for address in "${MAILBOXES[@]}"; do expected[$address]=0; done
crlf=$(mktemp)
for file in "$MAIL_DIR"/*.eml; do
    name=$(basename "$file")
    head_block=$(headers "$file")
    from=$(grep -i '^From:' <<<"$head_block" | head -n1 | cut -d: -f2- | first_address)
    recipients=()
    for address in "${MAILBOXES[@]}"; do
        if grep -iE '^(To|Cc):' <<<"$head_block" | grep -qiF "$address"; then recipients+=("$address"); fi
    done
    ((${#recipients[@]} > 0)) || die "$name is addressed to none of the demo mailboxes"
    # SMTP wants CRLF line ends (RFC 5321 §2.3.8); the files may have either.
    LC_ALL=C sed -e 's/\r$//' -e 's/$/\r/' "$file" >"$crlf"
    if grep -qi '^Message-ID:' <<<"$head_block"; then
        rcpt_args=()
        for r in "${recipients[@]}"; do rcpt_args+=(--mail-rcpt "$r"); done
        curl -sS --max-time 30 "smtp://127.0.0.1:$MX_PORT" --mail-from "$from" "${rcpt_args[@]}" -T "$crlf"
        how="SMTP"
    else
        # Postfix adds a Message-ID to mail that has none; to show how Mailroom treats such mail, this one
        # is saved straight into the mailbox.
        for r in "${recipients[@]}"; do "${DOVEADM[@]}" save -u "$r" -m INBOX <"$crlf"; done
        how="doveadm save (no Message-ID)"
    fi
    for r in "${recipients[@]}"; do expected[$r]=$((expected[$r] + 1)); done
    printf '  %-32s %-26s -> %s\n' "$name" "$how" "${recipients[*]}"
done

# Postfix queues and hands over to Dovecot's LMTP asynchronously: wait until every INBOX holds its share.
message_count() { "${DOVEADM[@]}" mailbox status -u "$1" messages INBOX | sed -n 's/.*messages=\([0-9]*\).*/\1/p'; }
deadline=$((SECONDS + DELIVERY_TIMEOUT))
for address in "${MAILBOXES[@]}"; do
    until [[ "$(message_count "$address")" == "${expected[$address]}" ]]; do
        ((SECONDS < deadline)) || die "$address holds $(message_count "$address") of ${expected[$address]} messages after ${DELIVERY_TIMEOUT}s (see $T/postfix/postfix.log)"
        sleep 0.2
    done
    printf '  %-20s %s messages in INBOX\n' "$address" "${expected[$address]}"
done

# --- mailroom -----------------------------------------------------------------------------------------

step "Embedded PostgreSQL (./.mailroom; no MAILROOM_DATABASE_URL)"
home=${MAILROOM_HOME:-$ROOT/.mailroom}
# Run as root, the cluster's server runs as the postgres user, who must be able to reach its directory.
if ((EUID == 0)) && ! runuser -u postgres -- test -x "$(dirname "$home")"; then
    die "the postgres user cannot enter $(dirname "$home"): make the path traversable (chmod o+x on each parent) or set MAILROOM_HOME to a directory it can reach"
fi
database_before=$("$MAILROOM" db status) || true
if [[ "$database_before" != running* ]]; then database_started=1; fi
"$MAILROOM" db start

step "mailroom apply examples/acme.yaml examples/globex.yaml"
"$MAILROOM" apply examples/acme.yaml
"$MAILROOM" apply examples/globex.yaml

step "mailroom worker --until-idle"
"$MAILROOM" worker --until-idle

step "Cases opened from acme's support mail (case.create, round robin over team support) and who got them"
# One case per line in the export's "cases" array; pick a few fields without needing a JSON tool.
field() { grep -oE "\"$1\": (\"[^\"]*\"|[0-9]+|null)" <<<"$2" | head -n1 | cut -d' ' -f2- | tr -d '"'; }
printf '  %-6s %-10s %-10s %-8s %s\n' number assignee status emails name
"$MAILROOM" export --tenant acme | sed -n '/"cases":\[/,/"follows":\[/p' | { grep '^{' || true; } | while IFS= read -r line; do
    emails=$(grep -oE '"emails": \[[^]]*\]' <<<"$line" | grep -oE '"[^"]*@[^"]*"' | wc -l)
    printf '  %-6s %-10s %-10s %-8s %s\n' "$(field number "$line")" "$(field assignee "$line")" "$(field status "$line")" \
        "$emails" "$(field name "$line")"
done

step "mailroom export --tenant acme (first 2000 bytes)"
export_file="$home/demo-export-acme.json"
"$MAILROOM" export --tenant acme >"$export_file"
head -c 2000 "$export_file"
printf '\n...\n(full export: %s, %s bytes)\n' "$export_file" "$(wc -c <"$export_file")"

step "Messages kept with import notes (malformed, but tolerated)"
# One email per line in the export; pick those whose note is not null.
for tenant in acme globex; do
    "$MAILROOM" export --tenant "$tenant" | { grep -E '^\{.*"note": "' || true; } | while IFS= read -r line; do
        subject=$(grep -oE '"subject": "([^"\\]|\\.)*"' <<<"$line" | head -n1 | cut -d' ' -f2-)
        note=$(grep -oE '"note": "([^"\\]|\\.)*"' <<<"$line" | head -n1 | cut -d' ' -f2-)
        printf '  %s: %s\n    %s\n' "$tenant" "$subject" "$note"
    done
done
echo "  (the failed column counts messages that could not be fetched, parsed or stored at all; they are retried later)"
