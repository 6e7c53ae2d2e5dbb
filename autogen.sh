#!/bin/sh
# autogen.sh: bootstrap the build system from a git checkout.
# Set NOCONFIGURE=1 to stop after autoreconf (this script never runs configure itself).
set -e
srcdir=$(dirname "$0")
test -n "$srcdir" || srcdir=.
cd "$srcdir"
autoreconf -fi
if test -z "$NOCONFIGURE"; then
	echo "Now run ./configure (or configure from a separate build directory) and make."
fi
