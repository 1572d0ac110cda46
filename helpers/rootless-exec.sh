#!/bin/sh
# Runs "$@" (tzbuild itself) inside the rootless namespace (cli/rootless.ts): unshare's own errors
# (and newuidmap's) went to tzbuild's pipe on fd 2, the real stderr waits on fd 3 and becomes fd 2
# again just before tzbuild starts. The shell only moves fds.
exec 2>&3 3>&-
exec "$@"
