#!/usr/bin/env node
/**
 * The package's command line: `npx reseolio ui [--db URL] [--port N] [--host IP] [--token T]
 * [--read-only]` serves the dashboard and /metrics of a database (the engine inside the addon,
 * no separate download) until Ctrl-C or SIGTERM. Exit codes: 0 stopped, 2 bad usage or input,
 * 1 anything else.
 */
import { fromNative } from './errors';
import { native } from './native';

const USAGE = `usage: reseolio ui [--db URL|PATH] [--port N] [--host IP] [--token TOKEN] [--read-only]

Serves the Reseolio dashboard and /metrics on http://127.0.0.1:7780 over the database at --db
(default: $RESEOLIO_DB or sqlite://./reseolio.db). Any host but a loopback one needs --token.`;

interface UiArgs {
  db: string;
  port: number;
  host: string;
  token?: string;
  readOnly: boolean;
}

class UsageError extends Error {}

/** A storage URL with its password, if any, shown as `***`. */
function redact(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]+):[^@]*@/i, '$1:***@');
}

/** Parses `ui`'s flags; throws a UsageError naming what is wrong. */
export function parseUiArgs(argv: string[], env: NodeJS.ProcessEnv): UiArgs {
  const args: UiArgs = {
    db: env.RESEOLIO_DB ?? 'sqlite://./reseolio.db',
    port: 7780,
    host: '127.0.0.1',
    token: env.RESEOLIO_UI_TOKEN || undefined,
    readOnly: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--db':
        args.db = value();
        break;
      case '--port': {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 65535) {
          throw new UsageError(`--port must be a whole number from 0 to 65535, got '${v}'`);
        }
        args.port = n;
        break;
      }
      case '--host':
        args.host = value();
        break;
      case '--token':
        args.token = value();
        break;
      case '--read-only':
        args.readOnly = true;
        break;
      default:
        throw new UsageError(`unknown argument '${flag}'`);
    }
  }
  return args;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'ui') {
    console.error(`reseolio: unknown command '${command}'\n${USAGE}`);
    return 2;
  }
  let args: UiArgs;
  try {
    args = parseUiArgs(rest, process.env);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`reseolio: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  let server;
  try {
    server = await native().uiServe(args.db, {
      host: args.host,
      port: args.port,
      token: args.token,
      readOnly: args.readOnly,
    });
  } catch (e) {
    const err = fromNative(e);
    console.error(`reseolio: ${err.message}`);
    return err.code === 'INVALID_ARGUMENT' ? 2 : 1;
  }
  console.error(
    `reseolio dashboard on http://${server.address} (storage ${redact(args.db)}${args.readOnly ? ', read-only' : ''})`,
  );
  // The server's socket belongs to the engine's threads, not to Node's event loop: a timer keeps
  // the process alive until a signal.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  clearInterval(keepAlive);
  await server.close();
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(`reseolio: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(1);
    },
  );
}
