#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run-tsan.sh: the threaded suites (make check-threaded: tests/check-state with its
# concurrency cases, tests/check-trace-json, tests/stress) in a ThreadSanitizer build
# (configure --enable-tsan) in build-tests/tsan, failing on any report: the third run of
# tests/run-all.sh alone (its header has the environment it honours).
exec bash "$(dirname "$0")/run-all.sh" tsan
