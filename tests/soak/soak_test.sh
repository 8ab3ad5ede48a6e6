#!/usr/bin/env bash
# tests/soak/soak_test.sh - the small soak the test suite runs: the whole
# faulted soak of tests/soak/soak.sh (both topologies, every fault once,
# the ledger, the crash checks) at a size that takes well under a minute:
# 400 messages with 8 clients, then 400 through nginx in long sessions
# (the workers' RSS printed, not held to a bound). TAP lines from
# tests/lib.sh's helpers; ports 3850-3881, so that a full run on 3800 can go
# on meanwhile.
#
# usage: tests/soak/soak_test.sh
# (the full run: ./build.sh soak [N], i.e. tests/soak/soak.sh [N [MEM]])
export SOAK_PORT=${SOAK_PORT:-3850} SOAK_CLIENTS=${SOAK_CLIENTS:-8} SOAK_HOLD=${SOAK_HOLD:-3}
export SOAK_CYCLES=1 SOAK_RSS_BOUND=0 SOAK_DEADLINE=${SOAK_DEADLINE:-240}
exec bash "$(dirname "$0")/soak.sh" 400 400
