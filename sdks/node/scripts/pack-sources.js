#!/usr/bin/env node
// Run by `npm pack` (prepack): copies the Rust crates the addon is built from into ./native-src,
// with a workspace of just those crates and the repository's lock file, so that installing the
// tarball builds the addon without the repository. With --clean (postpack) removes them again.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const pkg = path.resolve(__dirname, '..');
const repo = path.resolve(pkg, '..', '..');
const out = path.join(pkg, 'native-src');
const CRATES = ['proto', 'core', 'dashboard', 'ffi', 'bindings/node'];

fs.rmSync(out, { recursive: true, force: true });
if (process.argv.includes('--clean')) process.exit(0);

for (const crate of CRATES) {
  fs.cpSync(path.join(repo, crate), path.join(out, crate), {
    recursive: true,
    // Tests, benchmarks, examples and build output are not needed to build the addon.
    filter: (src) =>
      !/[/\\](target|tests|benches|examples|node_modules)([/\\]|$)/.test(path.relative(repo, src)),
  });
}
// Their tests, benchmarks and dev-dependencies (one is the sidecar crate) stay behind: drop the
// manifest sections that name them, or cargo would look for them.
for (const crate of CRATES) {
  const file = path.join(out, crate, 'Cargo.toml');
  const kept = [];
  let skipping = false;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (/^\s*\[/.test(line)) skipping = /^\s*\[(dev-dependencies|\[bench\]|\[test\]|\[example\])/.test(line);
    if (!skipping) kept.push(line);
  }
  fs.writeFileSync(file, kept.join('\n'));
}
const manifest = fs.readFileSync(path.join(repo, 'Cargo.toml'), 'utf8');
const members = /members = \[[^\]]*\]/;
if (!members.test(manifest)) throw new Error('pack-sources: no members list in Cargo.toml');
fs.writeFileSync(
  path.join(out, 'Cargo.toml'),
  manifest.replace(members, `members = [${CRATES.map((c) => JSON.stringify(c)).join(', ')}]`),
);
fs.copyFileSync(path.join(repo, 'Cargo.lock'), path.join(out, 'Cargo.lock'));
