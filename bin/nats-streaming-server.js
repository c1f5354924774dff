#!/usr/bin/env node
'use strict';
// Node 22+: cache compiled modules between runs (start-up time); a no-op on Node 20.
require('node:module').enableCompileCache?.();
// Thin launcher: the compiled CLI lives in dist/ (run `npm run build` first).
require('../dist/src/cli/main.js').main();
