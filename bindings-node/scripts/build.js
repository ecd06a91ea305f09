#!/usr/bin/env node
// Builds the native addon with @napi-rs/cli (cargo underneath, honouring
// CARGO_TARGET_DIR) into build/tidelog.node, and its generated types into
// build/native.d.ts (the committed native.d.ts must equal them: test/types.test.js).
// Dev profile by default (it reuses what `cargo test` compiled); set
// TIDELOG_NODE_PROFILE=release for an optimised build. Run by `npm install`.
'use strict'
const { spawnSync } = require('node:child_process')
const path = require('node:path')

const root = path.join(__dirname, '..')
const profile = process.env.TIDELOG_NODE_PROFILE || 'dev'
const cli = require.resolve('@napi-rs/cli/scripts/index.js')
const args = [cli, 'build', 'build', '--js', 'false', '--dts', 'native.d.ts',
  '--cargo-flags=--locked']
if (profile === 'release') args.push('--release')
else if (profile !== 'dev') args.push('--profile', profile)
const built = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
if (built.status !== 0) {
  console.error(`tidelog: building the native addon failed (exit ${built.status})`)
  process.exit(built.status || 1)
}
