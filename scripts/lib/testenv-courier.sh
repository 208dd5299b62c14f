# Courier-IMAP for the tests: sourced by scripts/testenv.sh, which defines the ports and helpers used here.
#
# Runs Debian's courier-imap unpacked under $COURIER_DIR/root (scripts/lib/unpack-servers.sh) in a private
# mount namespace (scripts/lib/ns-exec.sh) in which /usr/lib/courier, /usr/lib/courier-authlib and the
# libraries are the unpacked ones, /etc/courier is $COURIER_DIR/etc and /run/courier is $COURIER_DIR/run.
# Two processes share that namespace, both as $MAIL_USER: authdaemond (courier-authlib, module authuserdb)
# and couriertcpd, which runs imaplogin and, once a login succeeds, imapd on IMAP port $COURIER_PORT with
# STARTTLS (couriertls, GnuTLS). Plaintext LOGIN is refused before STARTTLS (IMAP_TLS_REQUIRED).
#
# Users: one file per user in $COURIER_DIR/etc/userdb/ (a directory, which makeuserdb reads whole), lines
# `name<TAB>uid=…|gid=…|home=…|mail=…|systempw=<crypt hash>`, compiled into userdb.dat by
# $COURIER_DIR/bin/makeuserdb (makeuserdb run inside the namespace as $MAIL_USER; it locks on its own).
# Mail: a Maildir per user, made by the tests (tmp/ new/ cur/), folders as Maildir++ `.Name` directories.

COURIER_DIR="$T/courier"
COURIER_ROOT="$COURIER_DIR/root"
COURIER_PID="$COURIER_DIR/couriertcpd.pid"
COURIER_AUTH_PID="$COURIER_DIR/authdaemond.pid"
COURIER_USERDB="$COURIER_DIR/etc/userdb"
COURIER_MAKEUSERDB="$COURIER_DIR/bin/makeuserdb"
COURIER_MAIL_ROOT="$COURIER_DIR/mail"

courier_running() { pid_alive "$(read_pid "$COURIER_PID")"; }

courier_configure() {
    [[ -x "$COURIER_ROOT/usr/bin/imapd" ]] \
        || die "Courier-IMAP is not unpacked under $COURIER_ROOT (run scripts/install-deps.sh)"
    local uid gid
    uid=$(id -u "$MAIL_USER")
    gid=$(id -g "$MAIL_USER")
    install -d -m 755 "$COURIER_DIR" "$COURIER_DIR/bin"
    install -d -m 755 -o "$MAIL_USER" -g "$MAIL_USER" "$COURIER_DIR/etc" "$COURIER_DIR/run"
    install -d -m 700 -o "$MAIL_USER" -g "$MAIL_USER" "$COURIER_USERDB"
    install -d -m 750 -o "$MAIL_USER" -g "$MAIL_USER" "$COURIER_MAIL_ROOT"
    # imaplogin looks up its compiled-in user `courier` (getpwnam) before STARTTLS and gives up without it.
    # Inside the namespace that name is $MAIL_USER's uid: a passwd and group of our own laid over the
    # system's, copied from them at each start; the system gets no new user.
    install -d -m 755 "$COURIER_DIR/skel/etc"
    { grep -v '^courier:' /etc/passwd; echo "courier:x:$uid:$gid:Courier (tests):/nonexistent:/usr/sbin/nologin"; } \
        >"$COURIER_DIR/skel/etc/passwd"
    { grep -v '^courier:' /etc/group; echo "courier:x:$gid:"; } >"$COURIER_DIR/skel/etc/group"
    chmod 644 "$COURIER_DIR/skel/etc/passwd" "$COURIER_DIR/skel/etc/group"
    # couriertls wants the certificate and its key in one file, readable by the server's user only.
    (umask 077; cat "$TLS_DIR/cert.pem" "$TLS_DIR/key.pem" >"$COURIER_DIR/etc/imapd.pem")
    chown "$MAIL_USER:$MAIL_USER" "$COURIER_DIR/etc/imapd.pem"
    write_if_changed "$COURIER_DIR/etc/authdaemonrc" <<EOF || true
# Written by scripts/testenv.sh.
authmodulelist="authuserdb"
authmodulelistorig="authuserdb"
daemons=3
authdaemonvar=/run/courier/authdaemon
DEBUG_LOGIN=0
DEFAULTOPTIONS=""
LOGGEROPTS=""
EOF
    # Sourced by the start command below, as Courier's own init script does (paths as seen in the namespace).
    write_if_changed "$COURIER_DIR/etc/imapd" <<EOF || true
# Written by scripts/testenv.sh.
ADDRESS=$HOST
PORT=$COURIER_PORT
MAXDAEMONS=200
MAXPERIP=200
TCPDOPTS="-nodnslookup -noidentlookup"
IMAP_CAPABILITY="IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE"
IMAP_KEYWORDS=1
IMAP_ACL=1
IMAP_PROXY=0
IMAP_IDLE_TIMEOUT=60
IMAP_MAILBOX_SANITY_CHECK=1
IMAP_CAPABILITY_TLS="\$IMAP_CAPABILITY AUTH=PLAIN"
IMAP_DISABLETHREADSORT=0
IMAP_CHECK_ALL_FOLDERS=0
IMAP_OBSOLETE_CLIENT=0
IMAP_UMASK=022
IMAP_USELOCKS=1
IMAP_ENHANCEDIDLE=0
IMAP_TRASHFOLDERNAME=Trash
IMAP_EMPTYTRASH=
IMAP_MOVE_EXPUNGE_TO_TRASH=0
MAILDIRPATH=Maildir
EOF
    write_if_changed "$COURIER_DIR/etc/imapd-ssl" <<EOF || true
# Written by scripts/testenv.sh.
IMAPDSTARTTLS=YES
IMAP_TLS_REQUIRED=1
COURIERTLS=/usr/bin/couriertls
TLS_PROTOCOL=TLS1_2
TLS_STARTTLS_PROTOCOL=TLS1_2
TLS_CERTFILE=/etc/courier/imapd.pem
TLS_VERIFYPEER=NONE
TLS_CACHEFILE=
EOF
    write_if_changed "$COURIER_MAKEUSERDB" <<EOF && chmod 755 "$COURIER_MAKEUSERDB" || true
#!/bin/sh
# Written by scripts/testenv.sh: compiles $COURIER_USERDB/* into userdb.dat for the running authdaemond,
# inside its mount namespace (makeuserdb's paths are compiled in) and as its user.
set -e
pid=\$(cat "$COURIER_AUTH_PID")
exec nsenter --target "\$pid" --mount -- setpriv --reuid=$uid --regid=$gid --init-groups /usr/sbin/makeuserdb
EOF
}

courier_start() {
    if courier_running; then return; fi
    require_free_port "$COURIER_PORT"
    courier_configure
    rm -f "$COURIER_PID" "$COURIER_AUTH_PID"
    local uid gid
    uid=$(id -u "$MAIL_USER")
    gid=$(id -g "$MAIL_USER")
    # One namespace for both: imaplogin reaches authdaemond at the compiled /run/courier/authdaemon/socket.
    # authdaemond runs in the background of the start shell, couriertcpd replaces that shell (so $! is its
    # pid); both stay in the foreground. The environment is built from the config files alone, as
    # Courier's init script does (env -i … set -a).
    # shellcheck disable=SC2016
    ns_spawn "$COURIER_DIR/courier.log" "$COURIER_PID" --root "$COURIER_ROOT" --skel "$COURIER_DIR/skel" \
        --bind "/etc/courier=$COURIER_DIR/etc" --bind "/run/courier=$COURIER_DIR/run" \
        -- env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin /bin/sh -c '
            set -e
            install -d -m 750 -o "$1" -g "$2" /run/courier/authdaemon
            setpriv --reuid="$1" --regid="$2" --init-groups --inh-caps=-all \
                /usr/lib/courier/courier-authlib/authdaemond &
            echo $! >"$3"
            set -a
            . /etc/courier/imapd
            . /etc/courier/imapd-ssl
            IMAP_STARTTLS=$IMAPDSTARTTLS
            umask $IMAP_UMASK
            exec setpriv --reuid="$1" --regid="$2" --init-groups --inh-caps=-all \
                /usr/sbin/couriertcpd -address="$ADDRESS" -maxprocs="$MAXDAEMONS" -maxperip="$MAXPERIP" \
                $TCPDOPTS "$PORT" /usr/lib/courier/courier/imaplogin /usr/bin/imapd "$MAILDIRPATH"
        ' courier-start "$uid" "$gid" "$COURIER_AUTH_PID"
    wait_for "Courier IMAP" answers "$COURIER_PORT" "* OK"
    wait_for "Courier authdaemond" test -S "$COURIER_DIR/run/authdaemon/socket"
}

courier_stop() {
    # couriertcpd first: no new logins while authdaemond goes.
    stop_pid "$COURIER_PID" "Courier couriertcpd"
    stop_pid "$COURIER_AUTH_PID" "Courier authdaemond"
}
