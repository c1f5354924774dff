#!/usr/bin/env node
'use strict';
// Thin launcher: the compiled CLI lives in dist/ (run `npm run build` first).
require('../dist/src/cli/main.js').main();
