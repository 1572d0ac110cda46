# shellcheck shell=sh
# Mounts the overlay views of a step's --mount sources (a stage's layers, a writable bind whose
# writes are thrown away), one per TZB_MOUNT_VIEWS record (runners/step-helper-protocol.ts).
# Sourced with `.` by namespace-setup.sh and oci-prelude.sh, from inside the step's private mount
# namespace; needs their `fail` and $TZB_OVERLAY_OPTS.
tab=$(printf '\t')
while IFS="$tab" read -r from lower upper work view; do
  [ -n "$from" ] || continue
  if [ "$upper" = - ]; then o="ro,lowerdir=$lower"; else o="lowerdir=$lower,upperdir=$upper,workdir=$work"; fi
  out=$(cd "$from" && mount -t overlay overlay -o "$o,$TZB_OVERLAY_OPTS" "$view" 2>&1) ||
    fail "mounting a --mount source: $out"
done <<TZB_EOF
$TZB_MOUNT_VIEWS
TZB_EOF
