#!/usr/bin/env bash
# The Node SDK's tests from a clean machine: builds the addon as `npm install` does
# (dev profile, CARGO_TARGET_DIR honoured), installs kafkajs, then runs the suite with
# tidelog against the embedded broker, with tidelog against the `tidelog serve` binary
# (when TIDELOG_BIN is set), and with kafkajs against the embedded broker.
set -euo pipefail
cd "$(dirname "$0")"
npm install --no-audit --no-fund --loglevel=error
node --test test/*.test.js
if [ -n "${TIDELOG_BIN:-}" ]; then
  TIDELOG_BIN="$TIDELOG_BIN" node --test test/client.test.js
fi
TIDELOG_TEST_CLIENT=kafkajs node --test test/client.test.js
