#!/bin/sh
# The shell half of the namespace runner (runners/namespaces.ts): runs as the first process of the
# fresh namespaces (started by `unshare`), still seeing the host's filesystem: it mounts the
# step's overlay (and the views of its --mount sources) and sets the hostname, then hands over to
# the Perl init (namespace-init.pl), which mounts /proc, a small /dev and the generated /etc files
# with mount(2) (the init layer provides their mountpoints, so nothing is created in the merged
# view), pivots into the root and starts the step.
#
# Inputs come from the environment (TZB_*, runners/step-helper-protocol.ts); the script's own
# environment is built by the runner and never reaches the step. Setup failures are written to
# fd 3 as `error: ...` and exit 125, so the runner can tell them apart from the step's own exit
# codes. "$@" is forwarded untouched to the init.
set -eu
fail() { printf 'error: %s\n' "$*" >&3; exit 125; }
M=$TZB_MERGED

# Lowerdirs are relative to TZB_LAYERS (sys/overlay-options.ts), so long layer chains fit the option page.
cd "$TZB_LAYERS" || fail "cannot enter $TZB_LAYERS"
opts="lowerdir=$TZB_LOWER,upperdir=$TZB_UPPER,workdir=$TZB_WORK,$TZB_OVERLAY_OPTS"
out=$(mount -t overlay overlay -o "$opts" "$M" 2>&1) || fail "mounting overlay: $out"
cd "$M"
# shellcheck source-path=SCRIPTDIR source=mount-views.sh
. "$TZB_HELPERS/mount-views.sh"

# The UTS namespace is ours: the host's /proc still resolves to it here. Rootless, that file
# belongs to the host's root, but sethostname(2) (the hostname tool, Essential on Debian) works.
{ printf '%s' "$TZB_HOSTNAME" > /proc/sys/kernel/hostname; } 2>/dev/null ||
  hostname "$TZB_HOSTNAME" || fail "cannot set hostname"

# /proc, /dev, /etc and the step's own mounts: the Perl init does them (namespace-init.pl).
perl=$(command -v perl) || fail "perl is required by the namespace runner"
exec "$perl" "$TZB_HELPERS/namespace-init.pl" "$@"
