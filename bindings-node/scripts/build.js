#!/usr/bin/env node
// Builds the native addon into build/tidelog.node. Run by `npm install`.
//
// In the package's own checkout (its devDependencies installed) it builds with
// @napi-rs/cli, which also writes the generated types to build/native.d.ts (the
// committed native.d.ts must equal them: test/types.test.js). Installed into another
// project (`npm install ./bindings-node`, where npm installs no devDependencies) it runs
// cargo itself and ships the committed types.
//
// Cargo honours CARGO_TARGET_DIR. TIDELOG_NODE_PROFILE names the cargo profile: by
// default release when installed into another project, dev in the package's checkout
// (it reuses what `cargo test` compiled).
'use strict'
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')

function fail (what, status) {
  console.error(`tidelog: ${what} (exit ${status})`)
  process.exit(status || 1)
}

function napiCli () {
  try {
    return require.resolve('@napi-rs/cli/scripts/index.js', { paths: [root] })
  } catch {
    return null
  }
}

function buildWithNapiCli (cli) {
  const args = [cli, 'build', 'build', '--js', 'false', '--dts', 'native.d.ts', '--cargo-flags=--locked']
  if (profile === 'release') args.push('--release')
  else if (profile !== 'dev') args.push('--profile', profile)
  const built = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
  if (built.status !== 0) fail('building the native addon failed', built.status)
}

function buildWithCargo () {
  const args = ['build', '--locked', '-p', 'tidelog-node', '--message-format=json-render-diagnostics']
  if (profile !== 'dev') args.push('--profile', profile)
  const built = spawnSync('cargo', args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28 })
  if (built.status !== 0) fail('cargo build of the native addon failed', built.status)
  const library = built.stdout.toString().split('\n')
    .filter(line => line.startsWith('{'))
    .map(line => JSON.parse(line))
    .filter(m => m.reason === 'compiler-artifact' && m.target.name === 'tidelog_node')
    .flatMap(m => m.filenames)
    .find(file => /\.(so|dylib|dll)$/.test(file))
  if (!library) fail('cargo built no tidelog_node library', 1)
  fs.mkdirSync(path.join(root, 'build'), { recursive: true })
  fs.copyFileSync(library, path.join(root, 'build', 'tidelog.node'))
}

const cli = napiCli()
const profile = process.env.TIDELOG_NODE_PROFILE || (cli ? 'dev' : 'release')
if (cli) buildWithNapiCli(cli)
else buildWithCargo()
