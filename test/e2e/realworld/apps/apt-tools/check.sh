#!/bin/sh
# Prints the versions of the tools this image ships.
set -e
curl --version | head -n 1
jq --version
