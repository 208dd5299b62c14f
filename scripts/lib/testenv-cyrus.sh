# Cyrus IMAP for the tests: sourced by scripts/testenv.sh, which defines the ports and helpers used here.
#
# Runs Debian's cyrus-imapd unpacked under $CYRUS_DIR/root (scripts/lib/unpack-servers.sh) in a private mount
# namespace (scripts/lib/ns-exec.sh) in which /etc/imapd.conf, /etc/cyrus.conf, /usr/lib/cyrus and the
# libraries are the unpacked ones and /var/lib/cyrus, /var/spool/cyrus and /run/cyrus are directories of the
# test directory. `master` runs as $MAIL_USER (imapd.conf `cyrus_user`), IMAP on $CYRUS_PORT with STARTTLS;
# plaintext LOGIN only after STARTTLS (LOGINDISABLED before).
#
# Users: SASL passwords in a sasldb ($CYRUS_DIR/lib/sasldb2, written with saslpasswd2 through
# $CYRUS_DIR/bin/saslpasswd, which serialises writers), mailboxes created by the admin `cyrus` over IMAP
# (`CREATE user/NAME`). Hierarchy separator "/", folders of a user at the top level (altnamespace), as
# Cyrus 3 does by default; Debian's imapd.conf turns both off.

CYRUS_DIR="$T/cyrus"
CYRUS_ROOT="$CYRUS_DIR/root"
CYRUS_PID="$CYRUS_DIR/master.pid"
CYRUS_ADMIN=cyrus
CYRUS_ADMIN_PASSWORD_FILE="$CYRUS_DIR/admin.password"
CYRUS_SASLDB="$CYRUS_DIR/lib/sasldb2"
CYRUS_SASLPASSWD="$CYRUS_DIR/bin/saslpasswd"

cyrus_running() { pid_alive "$(read_pid "$CYRUS_PID")"; }

cyrus_configure() {
    [[ -x "$CYRUS_ROOT/usr/lib/cyrus/bin/master" ]] \
        || die "Cyrus is not unpacked under $CYRUS_ROOT (run scripts/install-deps.sh)"
    local owner="$MAIL_USER:$MAIL_USER"
    install -d -m 755 "$CYRUS_DIR" "$CYRUS_DIR/skel/etc" "$CYRUS_DIR/bin"
    install -d -m 750 -o "$MAIL_USER" -g "$MAIL_USER" "$CYRUS_DIR/lib" "$CYRUS_DIR/spool" "$CYRUS_DIR/run" \
        "$CYRUS_DIR/lib/tls"
    # Cyrus reads the key as its own user; the shared one is root's.
    install -m 600 -o "$MAIL_USER" -g "$MAIL_USER" "$TLS_DIR/key.pem" "$CYRUS_DIR/lib/tls/key.pem"
    install -m 644 -o "$MAIL_USER" -g "$MAIL_USER" "$TLS_DIR/cert.pem" "$CYRUS_DIR/lib/tls/cert.pem"
    if [[ ! -s "$CYRUS_ADMIN_PASSWORD_FILE" ]]; then
        (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=\n' >"$CYRUS_ADMIN_PASSWORD_FILE")
    fi
    # Paths below are as seen inside the namespace.
    write_if_changed "$CYRUS_DIR/skel/etc/imapd.conf" <<EOF || true
# Written by scripts/testenv.sh: the test Cyrus IMAP, loopback only.
configdirectory: /var/lib/cyrus
partition-default: /var/spool/cyrus/mail
defaultpartition: default
proc_path: /run/cyrus/proc
mboxname_lockpath: /run/cyrus/lock
lmtpsocket: /run/cyrus/socket/lmtp
idlesocket: /run/cyrus/socket/idle
notifysocket: /run/cyrus/socket/notify
cyrus_user: $MAIL_USER
cyrus_group: $MAIL_USER
servername: cyrus.mailroom.test
admins: $CYRUS_ADMIN
unixhierarchysep: yes
altnamespace: yes
hashimapspool: true
# Mailboxes are made by the admin, never at first login.
autocreate_quota: -1
# A deleted mailbox is gone at once (tests rename folders away and create them anew).
delete_mode: immediate
expunge_mode: immediate
allowplaintext: no
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: /var/lib/cyrus/sasldb2
sasl_mech_list: PLAIN LOGIN
tls_server_cert: /var/lib/cyrus/tls/cert.pem
tls_server_key: /var/lib/cyrus/tls/key.pem
tls_versions: tls1_2 tls1_3
# Tests open many connections at once, all from 127.0.0.1.
maxlogins_per_host: 0
maxlogins_per_user: 0
syslog_prefix: cyrus-mailroom-test
EOF
    write_if_changed "$CYRUS_DIR/skel/etc/cyrus.conf" <<EOF || true
# Written by scripts/testenv.sh.
START {
  recover cmd="ctl_cyrusdb -r"
}
SERVICES {
  imap cmd="imapd" listen="$HOST:$CYRUS_PORT" prefork=1 maxchild=200
}
EVENTS {
  checkpoint cmd="ctl_cyrusdb -c" period=30
}
DAEMON {
}
EOF
    # The admin's password; sasldb is written only through the serialising wrapper below.
    write_if_changed "$CYRUS_SASLPASSWD" <<EOF && chmod 755 "$CYRUS_SASLPASSWD" || true
#!/bin/sh
# Written by scripts/testenv.sh: sets the Cyrus SASL password of user \$1 to standard input (saslpasswd2
# -p), or removes the user with -d. Berkeley DB has no locking of its own here: writers take a lock.
set -e
exec flock "$CYRUS_DIR/sasldb.lock" saslpasswd2 -f "$CYRUS_SASLDB" -u cyrus.mailroom.test "\$@"
EOF
    tr -d '\n' <"$CYRUS_ADMIN_PASSWORD_FILE" | "$CYRUS_SASLPASSWD" -p -c "$CYRUS_ADMIN"
    chown "$owner" "$CYRUS_SASLDB"
    chmod 640 "$CYRUS_SASLDB"
}

cyrus_start() {
    if cyrus_running; then return; fi
    require_free_port "$CYRUS_PORT"
    cyrus_configure
    rm -f "$CYRUS_PID"
    local uid gid
    uid=$(id -u "$MAIL_USER")
    gid=$(id -g "$MAIL_USER")
    # master stays in the foreground (no -d); its own pid file lives in the namespace's /run.
    ns_spawn "$CYRUS_DIR/cyrus.log" "$CYRUS_PID" --root "$CYRUS_ROOT" --skel "$CYRUS_DIR/skel" \
        --bind "/var/lib/cyrus=$CYRUS_DIR/lib" --bind "/var/spool/cyrus=$CYRUS_DIR/spool" \
        --bind "/run/cyrus=$CYRUS_DIR/run" \
        -- setpriv --reuid="$uid" --regid="$gid" --init-groups --inh-caps=-all \
        /usr/lib/cyrus/bin/master -C /etc/imapd.conf -M /etc/cyrus.conf -p /run/cyrus/master.pid -D
    wait_for "Cyrus IMAP" answers "$CYRUS_PORT" "* OK"
}

cyrus_stop() {
    # SIGTERM: master stops its children and exits.
    stop_pid "$CYRUS_PID" "Cyrus master"
}
