#!/usr/bin/env bash
# The test environment: a real PostgreSQL 15, Dovecot and Postfix, private to this checkout, loopback only.
#
#   scripts/testenv.sh up               start whatever is not running (idempotent), write .testenv/env
#   scripts/testenv.sh down             stop everything by pid and check that nothing is left
#   scripts/testenv.sh status           one line per server
#   scripts/testenv.sh restart-dovecot  stop and start Dovecot (tests of dropped connections)
#   scripts/testenv.sh restart-postgres stop and start PostgreSQL (tests of lost database connections)
#   scripts/testenv.sh reload-postfix   rewrite Postfix's config and `postfix reload` a running Postfix
#   scripts/testenv.sh restart-oauth    stop and start the OAuth 2.0 token server (scripts/lib/oauth_token_server.py)
#   scripts/testenv.sh up-cyrus|down-cyrus      start or stop only Cyrus IMAP (scripts/lib/testenv-cyrus.sh)
#   scripts/testenv.sh up-courier|down-courier  start or stop only Courier-IMAP (scripts/lib/testenv-courier.sh)
#
# A second, fully separate environment (its own PostgreSQL, Dovecot, Postfix and token server, e.g. for make
# chaos beside a shared one): another MAILROOM_TESTENV_DIR and MAILROOM_TESTENV_PORT_OFFSET, an integer added to
# every port. Every command of this script must then be given the same two variables.
#
#   MAILROOM_TESTENV_DIR=$PWD/.testenv-chaos MAILROOM_TESTENV_PORT_OFFSET=1000 scripts/testenv.sh up
#
# State lives under ./.testenv (gitignored). Servers run as unprivileged users: PostgreSQL as `postgres`,
# mail storage, Cyrus and Courier as `mailroom-mail` (created when missing), Postfix daemons as `postfix`.
# Needs root (Cyrus and Courier run in mount namespaces of their own).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# MAILROOM_TESTENV_DIR lets several checkouts share one running environment.
T="${MAILROOM_TESTENV_DIR:-$ROOT/.testenv}"

OFFSET="${MAILROOM_TESTENV_PORT_OFFSET:-0}"
if ! [[ "$OFFSET" =~ ^[0-9]{1,5}$ ]] || ((10#$OFFSET > 50000)); then
    echo "testenv: error: MAILROOM_TESTENV_PORT_OFFSET must be an integer from 0 to 50000 (got \"$OFFSET\")" >&2
    exit 2
fi
OFFSET=$((10#$OFFSET))

HOST=127.0.0.1
PG_PORT=$((15432 + OFFSET))
IMAP_PORT=$((14143 + OFFSET))
IMAPS_PORT=$((14993 + OFFSET))
LMTP_PORT=$((14024 + OFFSET))
MX_PORT=$((14025 + OFFSET))
SUBMISSION_PORT=$((14587 + OFFSET))
SMTPS_PORT=$((14465 + OFFSET))
OAUTH_PORT=$((14080 + OFFSET))
CYRUS_PORT=$((14144 + OFFSET))
COURIER_PORT=$((14145 + OFFSET))
# Dovecot's instance name (logs, `doveadm instance list`): one per environment.
DOVECOT_INSTANCE="mailroom-test$( ((OFFSET == 0)) || echo "-$OFFSET")"
MAIL_USER=mailroom-mail
START_TIMEOUT=${TESTENV_START_TIMEOUT:-60}

PG_DIR="$T/pg"
PG_DATA="$PG_DIR/data"
DOVECOT_DIR="$T/dovecot"
DOVECOT_CONF="$DOVECOT_DIR/dovecot.conf"
DOVECOT_USERS="$DOVECOT_DIR/users"
DOVECOT_USERS_DIR="$DOVECOT_DIR/users.d"
MAIL_ROOT="$T/mail"
TLS_DIR="$T/tls"
POSTFIX_DIR="$T/postfix"
POSTFIX_CONF_DIR="$POSTFIX_DIR/etc"
POSTFIX_QUEUE="$POSTFIX_DIR/queue"
ENV_FILE="$T/env"
OAUTH_DIR="$T/oauth"
OAUTH_PID="$OAUTH_DIR/server.pid"
SECRET_FILE="$T/secret.key"

log() { echo "testenv: $*" >&2; }
die() { echo "testenv: error: $*" >&2; exit 1; }

# Unix socket paths are limited to 107 bytes; a deep checkout gets its sockets under /tmp instead, in a
# directory named after the environment's directory and port offset (two environments never share one).
socket_dir() {
    local preferred=$1 name=$2
    if ((${#preferred} <= 80)); then
        echo "$preferred"
    else
        echo "/tmp/mailroom-testenv-$(printf '%s:%s' "$T" "$OFFSET" | cksum | cut -d' ' -f1)-$name"
    fi
}
PG_SOCKET_DIR=$(socket_dir "$PG_DIR/run" pg)
DOVECOT_BASE_DIR=$(socket_dir "$DOVECOT_DIR/run" dovecot)

pg_bin_dir() {
    local dir
    for dir in /usr/lib/postgresql/15/bin "$(pg_config --bindir 2>/dev/null || true)" /usr/lib/postgresql/*/bin; do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then echo "$dir"; return; fi
    done
    die "no PostgreSQL server binaries found (run scripts/install-deps.sh)"
}
PG_BIN=$(pg_bin_dir)

# --- processes and ports -------------------------------------------------------------------------------

# A stopped daemon can linger as a zombie until PID 1 reaps it: only states other than Z/X count as alive.
pid_alive() {
    local pid=$1 state
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    state=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

read_pid() { [[ -r "$1" ]] && tr -d ' \n' <"$1" | head -c 20 || true; }

wait_pid_gone() {
    local pid=$1 what=$2 deadline=$((SECONDS + 30))
    while pid_alive "$pid"; do
        ((SECONDS < deadline)) || die "$what (pid $pid) did not exit"
        sleep 0.1
    done
}

port_listening() {
    local hex
    hex=$(printf '%04X' "$1")
    awk -v p="$hex" 'NR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == p) found = 1 } END { exit !found }' \
        /proc/net/tcp
}

# Reads the first line a server sends on connect (IMAP "* OK", SMTP/LMTP "220").
greeting() {
    timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && IFS= read -r line <&3 && printf "%s" "$line"' \
        "$HOST" "$1" 2>/dev/null || true
}

wait_for() {
    local what=$1 deadline=$((SECONDS + START_TIMEOUT))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || die "$what did not answer within ${START_TIMEOUT}s (see logs under $T)"
        sleep 0.1
    done
}

answers() { local port=$1 prefix=$2; [[ "$(greeting "$port")" == "$prefix"* ]]; }

tls_answers() {
    timeout 5 openssl s_client -connect "$HOST:$1" -servername localhost -brief </dev/null >/dev/null 2>&1
}

# Stops the process whose pid is in PIDFILE with SIGTERM, waits until it is gone, and removes the file.
stop_pid() {
    local pidfile=$1 what=$2 pid
    pid=$(read_pid "$pidfile")
    if pid_alive "$pid"; then
        kill -TERM "$pid"
        wait_pid_gone "$pid" "$what"
    fi
    rm -f "$pidfile"
}

# Starts a server in the background in a private mount namespace of its own: the arguments are
# scripts/lib/ns-exec.sh's (--root, --skel, --bind …, --, the command). The server must stay in the
# foreground: it keeps the pid written to PIDFILE through every exec. Output is appended to LOG.
ns_spawn() {
    local log=$1 pidfile=$2
    shift 2
    nohup unshare --mount --propagation private -- "$ROOT/scripts/lib/ns-exec.sh" "$@" >>"$log" 2>&1 </dev/null &
    echo $! >"$pidfile"
}

require_free_port() {
    ! port_listening "$1" || die "port $1 is already in use by another program"
}

# Writes a config file only when its content changed: Postfix ignores files modified in the last second or
# two, and an unchanged file keeps a running server's view stable. Returns 0 when the file was written.
write_if_changed() {
    local file=$1 content
    content=$(cat)
    if [[ -f "$file" ]] && [[ "$(cat "$file")" == "$content" ]]; then return 1; fi
    printf '%s\n' "$content" >"$file.tmp"
    mv "$file.tmp" "$file"
}

# --- shared pieces ------------------------------------------------------------------------------------

prepare_base() {
    ((EUID == 0)) || die "must run as root (servers run as their own unprivileged users)"
    install -d -m 755 "$T"
    if [[ ! -s "$SECRET_FILE" ]]; then
        (umask 077; head -c 32 /dev/urandom | base64 >"$SECRET_FILE")
    fi
    if ! id -u "$MAIL_USER" >/dev/null 2>&1; then
        useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$MAIL_USER"
    fi
    if [[ ! -s "$TLS_DIR/cert.pem" || ! -s "$TLS_DIR/key.pem" ]]; then
        install -d -m 755 "$TLS_DIR"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
            -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
            -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" >/dev/null 2>&1 || die "openssl could not make a certificate"
        chmod 600 "$TLS_DIR/key.pem"
        chmod 644 "$TLS_DIR/cert.pem"
    fi
}

write_env_file() {
    local secret
    secret=$(tr -d '\n' <"$SECRET_FILE")
    {
        echo "# Written by scripts/testenv.sh up; source it before swift test."
        printf 'export %s=%q\n' \
            MAILROOM_TEST_DATABASE_URL "postgresql://mailroom:mailroom@$HOST:$PG_PORT/mailroom_test" \
            MAILROOM_TEST_IMAP_HOST "$HOST" \
            MAILROOM_TEST_IMAP_PORT "$IMAP_PORT" \
            MAILROOM_TEST_IMAPS_PORT "$IMAPS_PORT" \
            MAILROOM_TEST_MX_PORT "$MX_PORT" \
            MAILROOM_TEST_SUBMISSION_PORT "$SUBMISSION_PORT" \
            MAILROOM_TEST_SMTPS_PORT "$SMTPS_PORT" \
            MAILROOM_TEST_POSTFIX_LOG "$POSTFIX_DIR/postfix.log" \
            MAILROOM_TEST_DOVECOT_CONF "$DOVECOT_CONF" \
            MAILROOM_TEST_DOVECOT_PASSWD "$DOVECOT_USERS" \
            MAILROOM_TEST_DOVECOT_USERS_DIR "$DOVECOT_USERS_DIR" \
            MAILROOM_TEST_MAIL_ROOT "$MAIL_ROOT" \
            MAILROOM_TEST_PG_BIN "$PG_BIN" \
            MAILROOM_TEST_OAUTH_URL "http://$HOST:$OAUTH_PORT" \
            MAILROOM_TEST_CYRUS_PORT "$CYRUS_PORT" \
            MAILROOM_TEST_CYRUS_ADMIN "$CYRUS_ADMIN" \
            MAILROOM_TEST_CYRUS_ADMIN_PASSWORD "$(cat "$CYRUS_ADMIN_PASSWORD_FILE" 2>/dev/null || true)" \
            MAILROOM_TEST_CYRUS_SASLPASSWD "$CYRUS_SASLPASSWD" \
            MAILROOM_TEST_COURIER_PORT "$COURIER_PORT" \
            MAILROOM_TEST_COURIER_USERDB "$COURIER_USERDB" \
            MAILROOM_TEST_COURIER_MAKEUSERDB "$COURIER_MAKEUSERDB" \
            MAILROOM_TEST_COURIER_MAIL_ROOT "$COURIER_MAIL_ROOT" \
            MAILROOM_TEST_MAIL_UID "$(id -u "$MAIL_USER")" \
            MAILROOM_TEST_MAIL_GID "$(id -g "$MAIL_USER")" \
            MAILROOM_TEST_SERVICE_PASSWORD mailroom_service \
            MAILROOM_TEST_CRM_PASSWORD mailroom_crm \
            MAILROOM_ALLOWED_HOSTS "127.0.0.1/32,::1/128,localhost" \
            MAILROOM_INSECURE_HOSTS "127.0.0.1/32,::1/128,localhost" \
            MAILROOM_SECRET_KEY "$secret"
    } >"$ENV_FILE.tmp"
    chmod 600 "$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# --- PostgreSQL ---------------------------------------------------------------------------------------

as_postgres() { runuser -u postgres -- "$@"; }

pg_running() { [[ -f "$PG_DATA/PG_VERSION" ]] && as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

pg_configure() {
    if [[ ! -s "$PG_DATA/PG_VERSION" ]]; then
        rm -rf "$PG_DIR"
        install -d -m 700 -o postgres -g postgres "$PG_DIR"
        # Superuser only over the unix socket (peer); every TCP login needs a password.
        as_postgres "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
            --encoding=UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 || die "initdb failed (see $PG_DIR/initdb.log)"
        echo "include_if_exists = 'mailroom-test.conf'" >>"$PG_DATA/postgresql.conf"
    fi
    install -d -m 700 -o postgres -g postgres "$PG_SOCKET_DIR"
    write_if_changed "$PG_DATA/mailroom-test.conf" <<EOF || true
# Written by scripts/testenv.sh.
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
# Tests run in parallel, each with connections of its own.
max_connections = 300
shared_buffers = 64MB
# Durable like production: commits really reach the disk.
fsync = on
synchronous_commit = on
log_min_messages = warning
EOF
    chown postgres:postgres "$PG_DATA/mailroom-test.conf"
}

pg_start() {
    if pg_running; then return; fi
    require_free_port "$PG_PORT"
    pg_configure
    as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgres.log" -w -t "$START_TIMEOUT" start >/dev/null \
        || die "PostgreSQL did not start (see $PG_DIR/postgres.log)"
    wait_for "PostgreSQL" "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT"
    pg_provision
}

pg_provision() {
    local psql=("$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d postgres)
    # The role tests connect as: not a superuser and without BYPASSRLS, so row-level security applies.
    as_postgres "${psql[@]}" <<'SQL' >/dev/null
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mailroom') THEN
        CREATE ROLE mailroom LOGIN PASSWORD 'mailroom' NOSUPERUSER CREATEDB NOBYPASSRLS;
    END IF;
END
$$;
ALTER ROLE mailroom LOGIN PASSWORD 'mailroom' NOSUPERUSER CREATEDB NOBYPASSRLS;
-- The worker's service role and the host CRM's role (docs/security.md): `mailroom migrate` grants them
-- their rights in each database; tests log in as them to hold the promises against a real client.
SELECT format('CREATE ROLE %I', r) FROM unnest(ARRAY['mailroom_service', 'mailroom_crm']) AS r
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec
ALTER ROLE mailroom_service LOGIN PASSWORD 'mailroom_service' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
ALTER ROLE mailroom_crm LOGIN PASSWORD 'mailroom_crm' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
-- Tests drop their databases WITH (FORCE), ending the sessions the other roles still hold there.
GRANT pg_signal_backend TO mailroom;
SELECT 'CREATE DATABASE mailroom_test OWNER mailroom'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'mailroom_test') \gexec
SQL
}

pg_stop() {
    local pid
    pid=$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)
    if pg_running; then
        as_postgres "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null || die "pg_ctl stop failed"
    fi
    if [[ -n "$pid" ]]; then wait_pid_gone "$pid" "PostgreSQL"; fi
    rm -f "$PG_DATA/postmaster.pid"
}

# --- Dovecot ------------------------------------------------------------------------------------------

dovecot_pid() { read_pid "$DOVECOT_BASE_DIR/master.pid"; }
dovecot_running() { pid_alive "$(dovecot_pid)"; }

dovecot_configure() {
    local uid gid
    uid=$(id -u "$MAIL_USER")
    gid=$(id -g "$MAIL_USER")
    install -d -m 755 "$DOVECOT_DIR" "$DOVECOT_DIR/state" "$DOVECOT_BASE_DIR"
    install -d -m 750 -o "$MAIL_USER" -g "$MAIL_USER" "$MAIL_ROOT"
    if [[ ! -e "$DOVECOT_USERS" ]]; then : >"$DOVECOT_USERS"; fi
    # Read by the auth process (user dovecot); tests write them as root.
    chown root:dovecot "$DOVECOT_USERS"
    chmod 640 "$DOVECOT_USERS"
    install -d -m 750 -o root -g dovecot "$DOVECOT_USERS_DIR"
    write_if_changed "$DOVECOT_DIR/oauth2.conf.ext" <<EOF || true
introspection_mode = post
introspection_url = http://$HOST:$OAUTH_PORT/introspect
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
EOF
    write_if_changed "$DOVECOT_CONF" <<EOF || true
# Written by scripts/testenv.sh: the test Dovecot, loopback only.
instance_name = $DOVECOT_INSTANCE
base_dir = $DOVECOT_BASE_DIR
state_dir = $DOVECOT_DIR/state
protocols = imap lmtp
listen = $HOST
log_path = $DOVECOT_DIR/dovecot.log

ssl = yes
ssl_cert = <$TLS_DIR/cert.pem
ssl_key = <$TLS_DIR/key.pem
ssl_min_protocol = TLSv1.2
# Dovecot 2.3 counts loopback connections as secure: plaintext login works there even without TLS.
disable_plaintext_auth = yes
auth_mechanisms = plain login xoauth2 oauthbearer

# Users are full addresses (support@acme.test), lines "address:{PLAIN}password::::::".
# The shared file is re-read when it changes, but at most once a second: a user appended just after a lookup
# stays unknown for up to a second. A file of its own per user (users.d/<address>) is read at first lookup,
# so users made that way can log in at once; tests create theirs there.
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DOVECOT_USERS
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DOVECOT_USERS_DIR/%u
}
# OAuth 2.0 (XOAUTH2, OAUTHBEARER): the bearer token is checked by the test token server's introspection.
# A token fails the passwd-file passdbs above (no such password) and lands here; password logins and
# lookups never reach this one.
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $DOVECOT_DIR/oauth2.conf.ext
}
userdb {
  driver = passwd-file
  args = username_format=%u $DOVECOT_USERS
}
userdb {
  driver = passwd-file
  args = username_format=%u $DOVECOT_USERS_DIR/%u
}

mail_uid = $MAIL_USER
mail_gid = $MAIL_USER
first_valid_uid = $uid
last_valid_uid = $uid
first_valid_gid = $gid
last_valid_gid = $gid
mail_home = $MAIL_ROOT/%d/%n
mail_location = maildir:~/Maildir

namespace inbox {
  inbox = yes
  separator = /
  mailbox Drafts {
    special_use = \\Drafts
    auto = create
  }
  mailbox Sent {
    special_use = \\Sent
    auto = create
  }
  mailbox Junk {
    special_use = \\Junk
    auto = create
  }
  mailbox Trash {
    special_use = \\Trash
    auto = create
  }
}

# Tests open many connections at once, all from 127.0.0.1.
default_process_limit = 1000
default_client_limit = 4000
protocol imap {
  mail_max_userip_connections = 1000
}

service imap-login {
  inet_listener imap {
    address = $HOST
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = $HOST
    port = $IMAPS_PORT
    ssl = yes
  }
  # One login process serves many connections (high-performance mode).
  service_count = 0
  process_min_avail = 2
  client_limit = 1000
}

service lmtp {
  inet_listener lmtp {
    address = $HOST
    port = $LMTP_PORT
  }
}

# Dovecot delays every login from an address after a failed one; tests fail logins on purpose and all
# come from 127.0.0.1. An unreachable penalty listener turns the delay off.
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}

# Postfix's submission service authenticates through this socket (smtpd_sasl_type = dovecot).
service auth {
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
}

dovecot_start() {
    if dovecot_running; then return; fi
    # A stale pid file of a Dovecot that is gone (never the file of a running one: `up` is idempotent).
    rm -f "$DOVECOT_BASE_DIR/master.pid"
    local port
    for port in "$IMAP_PORT" "$IMAPS_PORT" "$LMTP_PORT"; do require_free_port "$port"; done
    dovecot_configure
    rm -f "$DOVECOT_BASE_DIR/master.pid"
    # Dovecot keeps stderr open: send it to the log so a caller piping our output is not held open.
    dovecot -c "$DOVECOT_CONF" 2>>"$DOVECOT_DIR/dovecot.log" </dev/null || die "Dovecot did not start (see $DOVECOT_DIR/dovecot.log)"
    wait_for "Dovecot IMAP" answers "$IMAP_PORT" "* OK"
    wait_for "Dovecot LMTP" answers "$LMTP_PORT" "220"
    wait_for "Dovecot IMAPS" tls_answers "$IMAPS_PORT"
}

dovecot_stop() {
    local pid
    pid=$(dovecot_pid)
    if pid_alive "$pid"; then
        kill -TERM "$pid"
        wait_pid_gone "$pid" "Dovecot"
    fi
}

# --- OAuth 2.0 token server ---------------------------------------------------------------------------

oauth_running() { pid_alive "$(read_pid "$OAUTH_PID")"; }
oauth_answers() { port_listening "$OAUTH_PORT"; }

oauth_start() {
    if oauth_running; then return; fi
    require_free_port "$OAUTH_PORT"
    install -d -m 755 "$OAUTH_DIR"
    rm -f "$OAUTH_PID"
    nohup /usr/bin/python3 "$ROOT/scripts/lib/oauth_token_server.py" "$OAUTH_PORT" "$OAUTH_PID" \
        >>"$OAUTH_DIR/server.log" 2>&1 </dev/null &
    wait_for "OAuth token server" oauth_answers
}

oauth_stop() { stop_pid "$OAUTH_PID" "OAuth token server"; }

# --- Postfix ------------------------------------------------------------------------------------------

postfix_pid() { read_pid "$POSTFIX_QUEUE/pid/master.pid"; }
postfix_running() { pid_alive "$(postfix_pid)"; }

postfix_configure() {
    local changed=0
    install -d -m 755 "$POSTFIX_DIR" "$POSTFIX_CONF_DIR" "$POSTFIX_QUEUE"
    install -d -m 700 -o postfix -g postfix "$POSTFIX_DIR/data"
    write_if_changed "$POSTFIX_CONF_DIR/main.cf" <<EOF && changed=1
# Written by scripts/testenv.sh: the test Postfix, loopback only.
compatibility_level = 3.6
queue_directory = $POSTFIX_QUEUE
data_directory = $POSTFIX_DIR/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $POSTFIX_DIR/postfix.log
maillog_file_prefixes = $POSTFIX_DIR

inet_interfaces = $HOST
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
myhostname = mx.mailroom.test
mydomain = mailroom.test
myorigin = \$myhostname
smtpd_banner = \$myhostname ESMTP
smtpd_peername_lookup = no
lmtp_host_lookup = native
biff = no
# Dovecot's LMTP refuses SMTPUTF8: refuse it at the door instead of bouncing later.
smtputf8_enable = no
# Room for the largest attachments users send (25 MB, ~34 MB once base64-encoded): the memory benchmark
# submits one (mailroom-bench memory-send). Postfix's default is 10 MB.
message_size_limit = 52428800
mailbox_size_limit = 104857600

# Every domain is ours: mail for any address goes over LMTP to Dovecot, which knows the users.
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains =
virtual_alias_maps =
virtual_mailbox_domains = static:all
virtual_mailbox_maps = static:present
virtual_transport = lmtp:inet:$HOST:$LMTP_PORT

smtpd_tls_cert_file = $TLS_DIR/cert.pem
smtpd_tls_key_file = $TLS_DIR/key.pem
smtpd_tls_security_level = may
smtpd_sasl_type = dovecot
smtpd_sasl_path = $DOVECOT_BASE_DIR/auth-postfix
smtpd_sasl_auth_enable = no

# Test domain tempfail.test: every recipient there is refused at RCPT TO with a temporary 450
# (MX and submission alike), so sending tests meet a real 4xx from a real server.
smtpd_recipient_restrictions = check_recipient_access texthash:$POSTFIX_CONF_DIR/recipient_access
EOF
    write_if_changed "$POSTFIX_CONF_DIR/recipient_access" <<EOF && changed=1
# Written by scripts/testenv.sh (check_recipient_access, texthash: read when smtpd starts).
tempfail.test 450 4.2.0 Mailbox temporarily unavailable (test domain tempfail.test)
EOF
    # No chroot anywhere: the queue lives inside the checkout.
    write_if_changed "$POSTFIX_CONF_DIR/master.cf" <<EOF && changed=1
# Written by scripts/testenv.sh.
# service  type  private unpriv  chroot  wakeup  maxproc command
$HOST:$MX_PORT inet n - n - - smtpd
$HOST:$SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
$HOST:$SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n -  0 cleanup
qmgr       unix  n - n 300 1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -  - trivial-rewrite
bounce     unix  - - n -  0 bounce
defer      unix  - - n -  0 bounce
trace      unix  - - n -  0 bounce
verify     unix  - - n -  1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -  - proxymap
proxywrite unix  - - n -  1 proxymap
smtp       unix  - - n -  - smtp
relay      unix  - - n -  - smtp
showq      unix  n - n -  - showq
error      unix  - - n -  - error
retry      unix  - - n -  - error
discard    unix  - - n -  - discard
lmtp       unix  - - n -  - lmtp
anvil      unix  - - n -  1 anvil
scache     unix  - - n -  1 scache
postlog    unix-dgram n - n - 1 postlogd
EOF
    if ((changed)); then
        # Postfix skips config files younger than a second or two; date fresh ones back instead of waiting.
        touch -d '-10 seconds' "$POSTFIX_CONF_DIR/main.cf" "$POSTFIX_CONF_DIR/master.cf" "$POSTFIX_CONF_DIR/recipient_access"
    fi
    ((changed))
}

# Applies a changed configuration to a running Postfix without stopping it (`postfix reload`: the
# master re-reads main.cf and master.cf, opens the listeners of services added to master.cf and restarts
# its daemons as they finish). The env file is rewritten too, for variables of new listeners.
postfix_reload() {
    if postfix_configure && postfix_running; then
        postfix -c "$POSTFIX_CONF_DIR" reload >>"$POSTFIX_DIR/start.log" 2>&1 || die "postfix reload failed (see $POSTFIX_DIR/start.log)"
        wait_for "Postfix smtps" tls_answers "$SMTPS_PORT"
        echo "postfix reloaded with the new configuration"
    else
        echo "postfix configuration unchanged or postfix not running"
    fi
    if [[ -s "$SECRET_FILE" ]]; then write_env_file; fi
}

postfix_start() {
    if postfix_running; then return; fi
    local port
    for port in "$MX_PORT" "$SUBMISSION_PORT" "$SMTPS_PORT"; do require_free_port "$port"; done
    postfix_configure || true
    rm -f "$POSTFIX_QUEUE/pid/master.pid"
    postfix -c "$POSTFIX_CONF_DIR" start >>"$POSTFIX_DIR/start.log" 2>&1 \
        || die "Postfix did not start (see $POSTFIX_DIR/start.log and postfix.log)"
    wait_for "Postfix MX" answers "$MX_PORT" "220"
    wait_for "Postfix submission" answers "$SUBMISSION_PORT" "220"
    wait_for "Postfix smtps" tls_answers "$SMTPS_PORT"
}

postfix_stop() {
    local pid
    pid=$(postfix_pid)
    if pid_alive "$pid"; then
        postfix -c "$POSTFIX_CONF_DIR" stop >>"$POSTFIX_DIR/start.log" 2>&1 || kill -TERM "$pid"
        wait_pid_gone "$pid" "Postfix"
    fi
    rm -f "$POSTFIX_QUEUE/pid/master.pid"
}

# --- Cyrus IMAP and Courier-IMAP (from unpacked .debs, in private mount namespaces) ------------------------

# shellcheck source=lib/testenv-cyrus.sh
source "$ROOT/scripts/lib/testenv-cyrus.sh"
# shellcheck source=lib/testenv-courier.sh
source "$ROOT/scripts/lib/testenv-courier.sh"

# --- commands -----------------------------------------------------------------------------------------

state_line() {
    local name=$1 pid=$2 ports=$3
    if pid_alive "$pid"; then
        printf '%-10s running  pid %-7s %s\n' "$name" "$pid" "$ports"
    else
        printf '%-10s stopped\n' "$name"
    fi
}

status() {
    local pg_pid=""
    [[ -r "$PG_DATA/postmaster.pid" ]] && pg_pid=$(head -n1 "$PG_DATA/postmaster.pid")
    state_line postgres "$pg_pid" "$HOST:$PG_PORT"
    state_line dovecot "$(dovecot_pid)" "imap $IMAP_PORT, imaps $IMAPS_PORT, lmtp $LMTP_PORT"
    state_line postfix "$(postfix_pid)" "mx $MX_PORT, submission $SUBMISSION_PORT, smtps $SMTPS_PORT"
    state_line oauth "$(read_pid "$OAUTH_PID")" "http $OAUTH_PORT"
    state_line cyrus "$(read_pid "$CYRUS_PID")" "imap $CYRUS_PORT"
    state_line courier "$(read_pid "$COURIER_PID")" "imap $COURIER_PORT"
}

up() {
    prepare_base
    pg_start
    oauth_start
    dovecot_start
    postfix_start
    cyrus_start
    courier_start
    write_env_file
    status
}

down() {
    courier_stop
    cyrus_stop
    postfix_stop
    dovecot_stop
    oauth_stop
    pg_stop
    local port left=()
    for port in "$OAUTH_PORT" "$PG_PORT" "$IMAP_PORT" "$IMAPS_PORT" "$LMTP_PORT" "$MX_PORT" "$SUBMISSION_PORT" "$SMTPS_PORT" \
        "$CYRUS_PORT" "$COURIER_PORT"; do
        local deadline=$((SECONDS + 10))
        while port_listening "$port" && ((SECONDS < deadline)); do sleep 0.1; done
        port_listening "$port" && left+=("$port")
    done
    ((${#left[@]} == 0)) || die "still listening after down: ports ${left[*]}"
    log "stopped"
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
restart-dovecot) prepare_base; dovecot_stop; dovecot_start ;;
restart-postgres) prepare_base; pg_stop; pg_start ;;
restart-oauth) prepare_base; oauth_stop; oauth_start ;;
reload-postfix) postfix_reload ;;
up-cyrus) prepare_base; cyrus_start; write_env_file ;;
down-cyrus) cyrus_stop ;;
up-courier) prepare_base; courier_start; write_env_file ;;
down-courier) courier_stop ;;
*)
    echo "usage: $0 up|down|status|restart-dovecot|restart-postgres|restart-oauth|reload-postfix|up-cyrus|down-cyrus|up-courier|down-courier" >&2
    exit 2
    ;;
esac
