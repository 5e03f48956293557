#!/bin/sh
# Writes the links the release archives carry next to the authcli binary:
# docker-credential-authcli -> authcli (the binary answers docker's
# credential-helper protocol when run under that name). Relative, so the
# link works wherever the archive is unpacked.
set -eu
dir=${1:?usage: release-links.sh DIR}
mkdir -p "$dir"
ln -sfn authcli "$dir/docker-credential-authcli"
