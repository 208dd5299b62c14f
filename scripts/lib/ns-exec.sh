#!/usr/bin/env bash
# Lays unpacked packages and test-directory state over the system's paths, then execs a command.
#
#   unshare --mount --propagation private -- scripts/lib/ns-exec.sh \
#       --root TREE --skel DIR [--bind DEST=SOURCE]... -- COMMAND [ARG]...
#
# Run only inside a fresh private mount namespace (as above): nothing here is visible outside it, and the
# process keeps its pid through every exec, so the caller's `$!` is the server's pid.
#
# --root TREE     a `dpkg-deb -x` tree: its top-level directories (usr, etc, …) are laid over the system's
#                 read-only (an overlay with the system's directory as the lowest layer), so its binaries,
#                 libraries and default files appear where they were compiled to be.
# --skel DIR      files of our own laid over TREE the same way (configuration files written before start);
#                 the mount points of the --bind entries are made in it.
# --bind D=S      the writable directory S (state in the test directory) bound at D (/var/lib/cyrus, …).
set -euo pipefail

root="" skel=""
binds=()
while (($#)); do
    case $1 in
    --root) root=$2; shift 2 ;;
    --skel) skel=$2; shift 2 ;;
    --bind) binds+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "ns-exec: unknown option $1" >&2; exit 2 ;;
    esac
done
[[ -n "$root" && -n "$skel" && $# -gt 0 ]] || { echo "ns-exec: usage: --root TREE --skel DIR [--bind D=S]... -- COMMAND" >&2; exit 2; }

entry=""
for entry in "${binds[@]}"; do install -d "$skel${entry%%=*}"; done

# Overlay each top-level directory that the tree or the skeleton adds to, skeleton first, system last.
declare -A tops=()
for dir in "$root"/* "$skel"/*; do
    # A merged-/usr system's /lib is a link into /usr, laid over already (the tree's /lib holds only
    # systemd units).
    [[ -d "$dir" && ! -L "/$(basename "$dir")" ]] && tops[$(basename "$dir")]=1
done
for top in "${!tops[@]}"; do
    [[ -d "/$top" ]] || { echo "ns-exec: /$top does not exist on this system" >&2; exit 1; }
    lower=""
    [[ -d "$skel/$top" ]] && lower="$skel/$top:"
    [[ -d "$root/$top" ]] && lower="$lower$root/$top:"
    mount -t overlay overlay -o "ro,lowerdir=$lower/$top" "/$top"
done
for entry in "${binds[@]}"; do
    mount --bind "${entry#*=}" "${entry%%=*}"
done
exec "$@"
