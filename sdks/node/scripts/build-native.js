#!/usr/bin/env node
// The package's install step: builds the native addon from the Rust sources with cargo and puts
// it at ./reseolio.node; compiles the TypeScript when ./dist is missing (an install from the
// repository folder rather than from a packed tarball).
//
// Sources: ./native-src in a packed tarball (see pack-sources.js), else the repository around
// this folder. Environment: CARGO_TARGET_DIR is honoured; RESEOLIO_NODE_PROFILE=debug builds
// without optimisation (the test suite uses it to share the debug build); RESEOLIO_NODE_ADDON
// set to an existing file skips the build.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const pkg = path.resolve(__dirname, '..');

function run(cmd, args, cwd, env) {
  console.error(`[reseolio] ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { cwd, stdio: 'inherit', env: env ?? process.env });
}

function findSources() {
  const packed = path.join(pkg, 'native-src');
  if (fs.existsSync(path.join(packed, 'Cargo.toml'))) return { root: packed, packed: true };
  const repo = path.resolve(pkg, '..', '..');
  if (fs.existsSync(path.join(repo, 'bindings', 'node', 'Cargo.toml'))) return { root: repo, packed: false };
  throw new Error('reseolio: no Rust sources found (expected ./native-src or the repository around sdks/node)');
}

function buildAddon() {
  if (process.env.RESEOLIO_NODE_ADDON && fs.existsSync(process.env.RESEOLIO_NODE_ADDON)) return;
  const { root, packed } = findSources();
  const profile = process.env.RESEOLIO_NODE_PROFILE === 'debug' ? 'debug' : 'release';
  const target = process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : path.join(root, 'target');
  const args = ['build', '-p', 'reseolio-node'];
  if (profile === 'release') args.push('--release');
  // The repository's lock file pins every crate; a packed tarball carries it too, but cargo may
  // trim it to the crates the smaller workspace uses, so --locked applies to the repository only.
  if (!packed) args.push('--locked');
  run('cargo', args, root, { ...process.env, CARGO_TARGET_DIR: target });
  const lib = { linux: 'libreseolio_node.so', darwin: 'libreseolio_node.dylib', win32: 'reseolio_node.dll' }[process.platform];
  if (!lib) throw new Error(`reseolio: unsupported platform ${process.platform}`);
  // Copy, then rename: a process that has the old addon loaded keeps its mapping intact.
  const tmp = path.join(pkg, `reseolio.node.${process.pid}`);
  fs.copyFileSync(path.join(target, profile, lib), tmp);
  fs.renameSync(tmp, path.join(pkg, 'reseolio.node'));
}

function buildTypeScript() {
  if (fs.existsSync(path.join(pkg, 'dist', 'index.js'))) return;
  const tsc = path.join(pkg, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!fs.existsSync(tsc)) {
    // The compiler is a pinned dev dependency (package-lock.json); fetch it without scripts.
    run('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], pkg);
  }
  run(process.execPath, [tsc, '-p', 'tsconfig.json'], pkg);
}

try {
  buildAddon();
  buildTypeScript();
} catch (e) {
  console.error(`reseolio: install failed: ${e instanceof Error ? e.message : String(e)}`);
  console.error('reseolio: building needs Rust (cargo) on the PATH: https://rustup.rs');
  process.exit(1);
}
