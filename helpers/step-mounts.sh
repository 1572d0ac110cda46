#!/bin/sh
# The step's extra mounts, one per TZB_MOUNTS record (runners/step-helper-protocol.ts), run by
# namespace-init.pl after /dev and /etc (only when there are some), before pivot_root. A
# mountpoint under /dev is made in the /dev tmpfs; every other one exists already (the init layer
# provides it). mount(8) keeps a source's locked flags on the read-only remount, which matters
# rootless. Failures go to fd 3 as `error: ...` with exit 125.
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
