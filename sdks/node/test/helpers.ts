/**
 * Test helpers: the transports every SDK suite runs against (the embedded engine on a fresh
 * SQLite file, and a real `reseolio` sidecar process), temp dirs and waiting.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';

export const PKG = path.resolve(__dirname, '..', '..');
export const ROOT = path.resolve(PKG, '..', '..');

export function tempDir(prefix = 'reseolio-node-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The sidecar binary: RESEOLIO_SIDECAR_BIN, else the workspace's debug build. */
export function sidecarBinary(): string {
  const env = process.env.RESEOLIO_SIDECAR_BIN;
  if (env) return env;
  const target = process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target');
  return path.join(target, 'debug', 'reseolio');
}

export interface Sidecar {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a sidecar on a free port over `db`; resolves once it printed its ready line. */
export async function startSidecar(db: string, extra: string[] = []): Promise<Sidecar> {
  const proc = spawn(sidecarBinary(), ['--addr', '127.0.0.1:0', '--db', db, '--shutdown-grace', '1', ...extra], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines = readline.createInterface({ input: proc.stderr! });
  const ready = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`sidecar exited with ${code} before it was ready`)));
    proc.once('error', reject);
  });
  if (!ready.startsWith('reseolio ready on ')) throw new Error(`unexpected sidecar line: ${ready}`);
  lines.on('line', () => {}); // keep draining stderr
  const addr = ready.split(' ')[3]!;
  return {
    url: `grpc://${addr}`,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

export interface Transport {
  /** embedded: the engine on SQLite; postgres: the engine on PostgreSQL; sidecar: over gRPC. */
  name: 'embedded' | 'postgres' | 'sidecar';
  /** Opens a storage URL for one test; `close` releases it. */
  open(): Promise<{ url: string; close(): Promise<void> }>;
  /** Why this transport cannot run here, if it cannot. */
  skip?: string;
}

export const TRANSPORTS: Transport[] = [
  {
    name: 'embedded',
    open: async () => ({ url: `sqlite://${path.join(tempDir(), 'sdk.db')}`, close: async () => {} }),
  },
  {
    name: 'postgres',
    ...(process.env.RESEOLIO_TEST_POSTGRES_URL
      ? {}
      : { skip: 'RESEOLIO_TEST_POSTGRES_URL is not set (a PostgreSQL to test against)' }),
    // A schema of its own per test: the tables are created in it at connect.
    open: async () => {
      const server = process.env.RESEOLIO_TEST_POSTGRES_URL!;
      const schema = `t_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
      return { url: `${server}${server.includes('?') ? '&' : '?'}schema=${schema}`, close: async () => {} };
    },
  },
  {
    name: 'sidecar',
    ...(fs.existsSync(sidecarBinary())
      ? {}
      : { skip: `no sidecar binary at ${sidecarBinary()} (cargo build -p reseolio-sidecar)` }),
    open: async () => {
      const s = await startSidecar(path.join(tempDir(), 'sidecar.db'));
      return { url: s.url, close: () => s.stop() };
    },
  },
];

/** Polls `check` every 20 ms until it returns true or `ms` pass. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves when `proc` has exited (at once if it already has). */
export function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}
