/**
 * The shell half of the namespace runner: runs as the first process of the fresh namespaces
 * (started by `unshare`), still seeing the host's filesystem, and assembles the step's root:
 * overlay, /proc, a small /dev, and the generated /etc files (bind-mounted over the init layer's
 * empty mountpoints). It then hands over to the Perl init
 * (`namespace-init.ts`), which pivots into the root and starts the step.
 *
 * Inputs come from the environment (TZB_*); the script's own environment is built by the runner
 * and never reaches the step. Setup failures are written to fd 3 as `error: …` and exit 125, so
 * the runner can tell them apart from the step's own exit codes.
 */
import { MOUNT_VIEWS_SH } from './step-mounts.js';

/**
 * The step's extra mounts (step-mounts.ts mountLines), after /dev and /etc. A mountpoint under
 * /dev is made in the /dev tmpfs; every other one exists already (the init layer provides it).
 */
const STEP_MOUNTS_SH = String.raw`
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

# The init layer (sandbox-dir.ts) provides every mountpoint, so nothing is created in the merged
# view; a symlink here would only come from an image with a symlinked /etc, which gets no files.
usable() { [ -e "$M/$1" ] && [ ! -L "$M/$1" ]; }

# Lowerdirs are short links relative to TZB_LAYERS, so long layer chains fit in the option page.
cd "$TZB_LAYERS" || fail "cannot enter $TZB_LAYERS"
opts="lowerdir=$TZB_LOWER,upperdir=$TZB_UPPER,workdir=$TZB_WORK,$TZB_OVERLAY_OPTS"
out=$(mount -t overlay overlay -o "$opts" "$M" 2>&1) || fail "mounting overlay: $out"
cd "$M"
${MOUNT_VIEWS_SH}
# The UTS namespace is ours: the host's /proc still resolves to it here. Rootless, that file
# belongs to the host's root, but sethostname(2) (the hostname tool, Essential on Debian) works.
{ printf '%s' "$TZB_HOSTNAME" > /proc/sys/kernel/hostname; } 2>/dev/null ||
  hostname "$TZB_HOSTNAME" || fail "cannot set hostname"

if usable proc; then
  mount -t proc -o nosuid,nodev,noexec proc "$M/proc" || fail "mounting /proc"
  # As Docker does: no writes to kernel knobs, no kernel memory or keys.
  for p in sys sysrq-trigger irq bus fs; do
    if [ -e "$M/proc/$p" ]; then
      mount --bind -o ro "$M/proc/$p" "$M/proc/$p" || fail "protecting /proc/$p"
    fi
  done
  for p in kcore keys timer_list; do
    if [ -e "$M/proc/$p" ]; then mount --bind /dev/null "$M/proc/$p" || fail "masking /proc/$p"; fi
  done
fi

if usable dev; then
  mount -t tmpfs -o nosuid,mode=755,size=65536k tmpfs "$M/dev" || fail "mounting /dev"
  for n in null zero full random urandom tty; do
    : > "$M/dev/$n"
    mount --bind "/dev/$n" "$M/dev/$n" || fail "binding /dev/$n"
  done
  mkdir -m 755 "$M/dev/pts"
  mkdir -m 1777 "$M/dev/shm"
  # gid 5 (tty) does not exist in a rootless namespace without subordinate ids: then the
  # terminals belong to the step's own group, as under rootless Podman.
  pts=newinstance,ptmxmode=0666,mode=0620,nosuid,noexec
  mount -t devpts -o "$pts,gid=5" devpts "$M/dev/pts" 2>/dev/null || mount -t devpts -o "$pts" devpts "$M/dev/pts" ||
    fail "mounting /dev/pts"
  mount -t tmpfs -o nosuid,nodev,noexec,mode=1777,size=65536k shm "$M/dev/shm" || fail "mounting /dev/shm"
  ln -s /proc/self/fd "$M/dev/fd"
  ln -s /proc/self/fd/0 "$M/dev/stdin"
  ln -s /proc/self/fd/1 "$M/dev/stdout"
  ln -s /proc/self/fd/2 "$M/dev/stderr"
  ln -s pts/ptmx "$M/dev/ptmx"
fi

# Bind-mounted, not written: edits during the step never reach the layer (as in Docker).
if usable etc; then
  for f in hosts resolv.conf hostname; do
    if usable "etc/$f" && [ -f "$M/etc/$f" ]; then
      mount --bind "$TZB_ETC/$f" "$M/etc/$f" || fail "binding /etc/$f"
    fi
  done
fi

${STEP_MOUNTS_SH}
perl=$(command -v perl) || fail "perl is required by the namespace runner"
exec "$perl" -e "$TZB_INIT" -- "$@"
`;
