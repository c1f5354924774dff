#!/usr/bin/env node
'use strict';
// Thin launcher: the compiled server lives in dist/ (run `npm run build` first); the loader
// runs the bundled server through a V8 code cache (src/launch/launcher.ts, docs/startup.md).
const path = require('node:path');
require('../dist/src/launch/launcher.js')
  .loadServer({ distDir: path.join(__dirname, '..', 'dist'), env: process.env })
  .main();
