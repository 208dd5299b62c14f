#!/usr/bin/env bash
# Cyrus IMAP and Courier-IMAP for the tests, from Debian's .debs unpacked under the test directory.
#
#   scripts/lib/unpack-servers.sh TESTENV_DIR
#
# As packages they cannot sit beside Dovecot: installing cyrus-imapd removes dovecot-imapd, and courier-imap
# conflicts with both (they all provide imap-server). So the libraries they link against are installed as
# ordinary packages (scripts/install-deps.sh), and the server packages themselves are fetched with
# `apt-get download` into TESTENV_DIR/debs and unpacked with `dpkg-deb -x` into TESTENV_DIR/cyrus/root and
# TESTENV_DIR/courier/root. Nothing of theirs is configured or started system-wide: scripts/testenv.sh runs
# them in private mount namespaces where those trees appear at the paths compiled into the binaries.
# Idempotent and silent once both trees are in place.
set -euo pipefail

T=${1:?usage: unpack-servers.sh TESTENV_DIR}

# Package sets per server; a tree is unpacked again when its set changes.
cyrus_packages=(cyrus-common cyrus-imapd)
courier_packages=(courier-base courier-imap courier-authlib courier-authdaemon courier-authlib-userdb)

unpack() {
    local name=$1
    shift
    local dir="$T/$name" stamp="$T/$name/root/.unpacked" want
    want=$(printf '%s\n' "$@")
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return; fi
    install -d -m 755 "$T" "$T/debs" "$dir"
    local debs=() pkg file
    for pkg in "$@"; do
        file=$(find "$T/debs" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -n1)
        if [[ -z "$file" ]]; then
            # apt-get download writes into the current directory; its sandbox user may not be able to, which
            # only costs a warning.
            if ! (cd "$T/debs" && apt-get download -q "$pkg" >"$T/debs/download.log" 2>&1); then
                # A machine that never ran `apt-get update` has no package lists yet.
                apt-get update -q >/dev/null
                (cd "$T/debs" && apt-get download -q "$pkg" >"$T/debs/download.log" 2>&1) \
                    || { cat "$T/debs/download.log" >&2; echo "unpack-servers: cannot download $pkg" >&2; exit 1; }
            fi
            file=$(find "$T/debs" -maxdepth 1 -name "${pkg}_*.deb" | sort | tail -n1)
        fi
        debs+=("$file")
    done
    echo "unpack-servers: unpacking $* into $dir/root"
    rm -rf "$dir/root"
    install -d -m 755 "$dir/root"
    for file in "${debs[@]}"; do dpkg-deb -x "$file" "$dir/root"; done
    printf '%s\n' "$want" >"$stamp"
}

unpack cyrus "${cyrus_packages[@]}"
unpack courier "${courier_packages[@]}"
