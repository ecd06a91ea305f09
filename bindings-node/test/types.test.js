'use strict'
// The committed native.d.ts is what the build generates, and the package's types
// (lib/index.d.ts) compile against the public API shapes.
const { test } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')

test('the committed native.d.ts equals the one the build generated', () => {
  const built = fs.readFileSync(path.join(root, 'build/native.d.ts'), 'utf8')
  const committed = fs.readFileSync(path.join(root, 'native.d.ts'), 'utf8')
  assert.equal(committed, built, 'run `npm install` in bindings-node and commit native.d.ts')
})

test('every class and value the package exports is declared in lib/index.d.ts', () => {
  const declared = fs.readFileSync(path.join(root, 'lib/index.d.ts'), 'utf8')
  for (const name of Object.keys(require('..'))) {
    assert.match(declared, new RegExp(`export (declare )?(class|const|function) ${name}\\b`), name)
  }
})
