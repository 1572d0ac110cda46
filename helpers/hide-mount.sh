#!/bin/sh
# Hides the mount at $1, then runs the rest of the argv (runners/oci/runtime-binary.ts, ociCommand:
# started by `unshare --mount` in a throwaway private mount namespace; oci-supervisor.pl does the
# same with mount(2)). An empty tmpfs covers it, so crun finds no cgroup2 there. Not an unmount:
# crun still makes its cgroup dir (and writes cgroup.procs) there, and with the mount gone that
# would land in the host's /sys/fs/cgroup tmpfs underneath and stay; in our tmpfs it goes with
# the step's namespace. (A user namespace could not unmount it anyway: inherited mounts are
# locked.)
mount -t tmpfs -o size=64k,mode=755 tzbuild-hidden "$1" && shift && exec "$@"
