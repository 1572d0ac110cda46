#!/bin/sh
# The OCI runner's prelude (runners/oci/oci-runtime.ts), only for steps with --mount views: run by
# `unshare --mount` in a private mount namespace, it mounts the step's overlay on the scratch
# dir's `merged` and the views, then hands over to oci-supervisor.pl (without views the
# supervisor does the namespace and the overlay mount itself). The mounts exist only in this
# namespace, so the host never sees them and they cannot outlive the step, whatever happens to us.
#
# Inputs: TZB_* (runners/step-helper-protocol.ts). Setup failures go to fd 3 as `error: ...`
# with exit 125. "$@" is forwarded to the supervisor.
set -eu
fail() { printf 'error: %s\n' "$*" >&3; exit 125; }
# Lowerdirs are relative to TZB_LAYERS (sys/overlay-options.ts): long chains fit one page.
cd "$TZB_LAYERS" || fail "cannot enter $TZB_LAYERS"
opts="lowerdir=$TZB_LOWER,upperdir=$TZB_UPPER,workdir=$TZB_WORK,$TZB_OVERLAY_OPTS"
out=$(mount -t overlay overlay -o "$opts" "$TZB_MERGED" 2>&1) || fail "mounting overlay: $out"
cd "$TZB_MERGED"
# The RUN --mount sources that are overlay views: mounted here, so the runtime sees them.
# shellcheck source-path=SCRIPTDIR source=mount-views.sh
. "$TZB_HELPERS/mount-views.sh"
perl=$(command -v perl) || fail "perl is required by the OCI runtime runner"
TZB_OVERLAY_MOUNTED=1 exec "$perl" "$TZB_HELPERS/oci-supervisor.pl" "$@"
