'use strict'
// The native addon that `npm install` builds (scripts/build.js).
module.exports = require('../build/tidelog.node')
