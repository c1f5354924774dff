/**
 * The package root (where package.json, proto/, sql/ live), found by walking up from this
 * file: the same code runs from src/ (tsx) and from dist/src/ (compiled).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

function findRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'proto'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`package root not found above ${__dirname}`);
    dir = up;
  }
}

export const PACKAGE_ROOT = findRoot();
