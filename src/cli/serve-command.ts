/**
 * `metaraft serve`: runs one MetaServer until SIGINT or SIGTERM, then stops it cleanly.
 *
 *   metaraft serve --listen 127.0.0.1:6701 --data ./data [--id NAME] [--peers A,B,C]
 *                  [--copysets 1,2] [--pool 1] [--config FILE.json]
 *
 * --config reads a JSON MetaServerConfig; flags given as well override its fields.
 */
import { readFile } from 'node:fs/promises';
import { MetaServer } from '../server/meta-server.ts';
import { ConfigError, type MetaServerConfig } from '../server/meta-server-config.ts';
import { UsageError } from './cli-errors.ts';
import { parseFlags, parseIdList, parsePositiveInteger } from './parse-flags.ts';

export const SERVE_USAGE = 'usage: metaraft serve --listen IP:PORT --data DIR [--id NAME] [--peers IP:PORT[:I],...] [--copysets ID,...] [--pool ID] [--config FILE]';

async function readConfigFile(path: string): Promise<Partial<MetaServerConfig>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError('BAD_CONFIG_FILE', `cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as Partial<MetaServerConfig>;
  } catch (error) {
    throw new ConfigError('BAD_CONFIG_FILE', `config file ${path}: ${(error as Error).message}`);
  }
}

/** Builds the server configuration from flags and the optional config file. */
export async function serveConfig(args: readonly string[]): Promise<MetaServerConfig> {
  const { values } = parseFlags(args, {
    id: { type: 'string' },
    listen: { type: 'string' },
    data: { type: 'string' },
    peers: { type: 'string' },
    copysets: { type: 'string' },
    pool: { type: 'string' },
    config: { type: 'string' },
  });
  const file = values.config === undefined ? {} : await readConfigFile(values.config);
  const pool = parsePositiveInteger(values.pool, '--pool') ?? 1;
  const config: Record<string, unknown> = { ...file };
  if (values.id !== undefined) config.id = values.id;
  if (values.listen !== undefined) config.listen = values.listen;
  if (values.data !== undefined) config.dataDir = values.data;
  if (values.peers !== undefined) config.peers = values.peers.split(',').filter((peer) => peer !== '');
  if (values.copysets !== undefined) config.copysets = parseIdList(values.copysets, '--copysets').map((copysetId) => ({ poolId: pool, copysetId }));
  if (config.listen === undefined) throw new UsageError(`--listen is required (or "listen" in --config)`);
  if (config.dataDir === undefined) throw new UsageError(`--data is required (or "dataDir" in --config)`);
  return config as unknown as MetaServerConfig;
}

export async function serveCommand(args: readonly string[]): Promise<number> {
  const server = new MetaServer(await serveConfig(args));
  server.events.on('copyset-loaded', ({ loaded, total }) => {
    if (loaded === total || loaded % 100 === 0) process.stdout.write(`loaded ${loaded}/${total} copysets\n`);
  });
  await server.start();
  process.stdout.write(`metaraft ${server.config.id} serving on ${server.grpcAddress} (peer ${server.peerAddress}, node id ${server.nodeId})\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.stop();
  process.stdout.write(`metaraft ${server.config.id} stopped\n`);
  return 0;
}
