/**
 * The shell half of the namespace runner: runs as the first process of the fresh namespaces
 * (started by `unshare`), still seeing the host's filesystem: it mounts the step's overlay (and
 * the views of its --mount sources) and sets the hostname, then hands over to the Perl init
 * (`namespace-init.ts`), which mounts /proc, a small /dev and the generated /etc files with
 * mount(2) (the init layer provides their mountpoints, so nothing is created in the merged view),
 * pivots into the root and starts the step.
 *
 * Inputs come from the environment (TZB_*); the script's own environment is built by the runner
 * and never reaches the step. Setup failures are written to fd 3 as `error: …` and exit 125, so
 * the runner can tell them apart from the step's own exit codes.
 */
import { MOUNT_VIEWS_SH } from './step-mounts.js';

/**
 * The step's extra mounts (step-mounts.ts mountLines), run by the Perl init after /dev and /etc
 * (only when there are some). A mountpoint under /dev is made in the /dev tmpfs; every other one
 * exists already (the init layer provides it). mount(8) keeps a source's locked flags on the
 * read-only remount, which matters rootless.
 */
export const STEP_MOUNTS_SH = String.raw`
set -eu
fail() { printf 'error: %s\n' "$*" >&3; exit 125; }
M=$TZB_MERGED
tab=$(printf '\t')
while IFS="$tab" read -r kind src dst how what where; do
  [ -n "$kind" ] || continue
  t="$M$dst"
  if [ "$where" = dev ]; then
    mkdir -p "$(dirname "$t")" || fail "creating the mountpoint $dst"
    if [ "$what" = dir ]; then mkdir -p "$t"; else : > "$t"; fi
  fi
  if [ "$kind" = tmpfs ]; then
    out=$(mount -t tmpfs -o "$how" tmpfs "$t" 2>&1) || fail "mounting a tmpfs on $dst: $out"
  else
    out=$(mount --bind "$src" "$t" 2>&1) || fail "mounting $dst: $out"
    if [ "$how" = ro ]; then
      out=$(mount -o remount,bind,ro "$t" 2>&1) || fail "making $dst read-only: $out"
    fi
  fi
done <<TZB_EOF
$TZB_MOUNTS
TZB_EOF
`;

/** POSIX sh; `$@` is forwarded untouched to the init program. */
export const SETUP_SCRIPT = String.raw`
set -eu
fail() { printf 'error: %s\n' "$*" >&3; exit 125; }
M=$TZB_MERGED

# Lowerdirs are relative to TZB_LAYERS (sys/overlay-options.ts), so long layer chains fit the option page.
cd "$TZB_LAYERS" || fail "cannot enter $TZB_LAYERS"
opts="lowerdir=$TZB_LOWER,upperdir=$TZB_UPPER,workdir=$TZB_WORK,$TZB_OVERLAY_OPTS"
out=$(mount -t overlay overlay -o "$opts" "$M" 2>&1) || fail "mounting overlay: $out"
cd "$M"
${MOUNT_VIEWS_SH}
# The UTS namespace is ours: the host's /proc still resolves to it here. Rootless, that file
# belongs to the host's root, but sethostname(2) (the hostname tool, Essential on Debian) works.
{ printf '%s' "$TZB_HOSTNAME" > /proc/sys/kernel/hostname; } 2>/dev/null ||
  hostname "$TZB_HOSTNAME" || fail "cannot set hostname"

# /proc, /dev, /etc and the step's own mounts: the Perl init does them (namespace-init.ts).
perl=$(command -v perl) || fail "perl is required by the namespace runner"
exec "$perl" -e "$TZB_INIT" -- "$@"
`;
