#!/usr/bin/env bash
# valgrind-cnnfilter.sh - run the real binary under valgrind memcheck, for `make valgrind`.
# Any memory error or definite leak exits 99, which the CLI tests see as a failed case;
# valgrind's report goes to stderr, where the tests expect at most one line.
exec valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \
  --errors-for-leak-kinds=definite --child-silent-after-fork=yes \
  "${CNNFILTER_REAL_BIN:?set CNNFILTER_REAL_BIN}" "$@"
