/**
 * A local cluster of real metaserver processes: each one a child `metaraft serve` with
 * its own data folder and port on 127.0.0.1. The end-to-end tests and the cluster demo
 * use it to start, SIGKILL, SIGSTOP/SIGCONT, restart and stop servers.
 *
 * Ports: a new server listens on port 0 and reports the port it took on its first line
 * of output ("... serving on IP:PORT ..."), so no port is guessed. A restarted server
 * gets the same port back: its Raft node id is derived from its address (peer-id.ts).
 *
 * Every child is tracked in one process-wide set, and a handler on this process's
 * `exit` SIGKILLs any child still running, so no server outlives the process that
 * started it, whatever way that process ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MetaServerConfig } from '../server/meta-server-config.ts';

/** The MetaServer options a cluster passes to each of its servers (listen and dataDir are the cluster's). */
export type ServerTuning = Omit<Partial<MetaServerConfig>, 'listen' | 'dataDir' | 'advertise' | 'id' | 'peers' | 'copysets'>;

/** A server that has not said it serves after this long is reported as failed (tsx compiles on start). */
export const SERVER_START_TIMEOUT_MS = 30_000;
/** Time a server gets to stop after SIGTERM before it is killed. */
export const SERVER_STOP_GRACE_MS = 5_000;
/** Lines of a child's stderr kept to explain a failed start. */
const STDERR_TAIL_LINES = 20;
const HOST = '127.0.0.1';
const SERVING_LINE = /serving on (\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5}) \(peer (\S+),/;

/** Every child started by any cluster of this process, for the exit handler. */
const liveChildren = new Set<ChildProcess>();
let exitHandlerInstalled = false;

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => {
    for (const child of liveChildren) child.kill('SIGKILL');
  });
}

/** SIGKILLs every server process started from this process (synchronous: safe in signal and exit handlers). */
export function killAllServerProcesses(): number {
  let killed = 0;
  for (const child of liveChildren) {
    if (child.kill('SIGKILL')) killed++;
  }
  return killed;
}

/** Pids of the server processes of this process still running (tests check that none survive). */
export function liveServerPids(): number[] {
  return [...liveChildren].map((child) => child.pid).filter((pid): pid is number => pid !== undefined);
}

/**
 * Extra Node.js flags for the server processes, from METARAFT_SERVER_NODE_ARGS (space
 * separated), e.g. `--cpu-prof --cpu-prof-dir=prof` to profile them during a benchmark
 * (Node.js refuses --cpu-prof in NODE_OPTIONS).
 */
export function serverNodeArgs(): string[] {
  return (process.env.METARAFT_SERVER_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
}

/** How to run the CLI: from source with the tsx loader, or the built JavaScript. */
function cliCommand(): { execArgs: string[]; main: string } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const loader = createRequire(import.meta.url).resolve('tsx');
    return { execArgs: ['--import', pathToFileURL(loader).href], main: fileURLToPath(new URL('../cli/main.ts', import.meta.url)) };
  }
  return { execArgs: [], main: fileURLToPath(new URL('../cli/main.js', import.meta.url)) };
}

export class ServerStartError extends Error {
  readonly code = 'SERVER_START_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'ServerStartError';
  }
}

/** One metaserver process; the object outlives its process, so that it can be restarted. */
export class ServerProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private port = 0;
  private stderrTail: string[] = [];

  constructor(
    readonly name: string,
    readonly dataDir: string,
    private readonly configFile: string,
  ) {}

  /** `ip:port`, where clients connect (known once started). */
  get address(): string {
    return `${HOST}:${this.port}`;
  }

  /** `ip:port:0`, the peer address copyset peer lists use. */
  get peerAddress(): string {
    return `${this.address}:0`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the process (on its old port when restarted) and waits until it serves. */
  async start(): Promise<void> {
    if (this.running) throw new ServerStartError(`${this.name} is already running`);
    const { execArgs, main } = cliCommand();
    const args = [...serverNodeArgs(), ...execArgs, main, 'serve', '--id', this.name, '--listen', `${HOST}:${this.port}`, '--data', this.dataDir, '--config', this.configFile];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    installExitHandler();
    liveChildren.add(child);
    this.child = child;
    this.stderrTail = [];
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        liveChildren.delete(child);
        resolve();
      });
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      this.stderrTail.push(...text.split('\n').filter((line) => line !== ''));
      this.stderrTail.splice(0, Math.max(0, this.stderrTail.length - STDERR_TAIL_LINES));
    });
    await this.waitUntilServing(child);
  }

  private waitUntilServing(child: ChildProcess): Promise<void> {
    return new Promise((resolve, reject) => {
      let stdout = '';
      let settled = false;
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new ServerStartError(`${this.name}: ${why}${this.stderrTail.length > 0 ? `; stderr: ${this.stderrTail.join(' | ')}` : ''}`));
      };
      const timer = setTimeout(() => fail(`did not serve within ${SERVER_START_TIMEOUT_MS} ms`), SERVER_START_TIMEOUT_MS);
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (text: string) => {
        if (settled) return;
        stdout += text;
        const match = SERVING_LINE.exec(stdout);
        if (match === null) return;
        settled = true;
        clearTimeout(timer);
        this.port = Number(match[2]);
        resolve();
      });
      child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before serving`));
    });
  }

  /** Sends a signal (SIGKILL, SIGSTOP, SIGCONT, SIGTERM); false when not running. */
  signal(signal: NodeJS.Signals): boolean {
    if (!this.running) return false;
    return this.child!.kill(signal);
  }

  /** SIGKILL, then wait for the process to be gone. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (a clean stop), SIGKILL after the grace period. */
  async stop(graceMs = SERVER_STOP_GRACE_MS): Promise<void> {
    if (!this.running) return this.exited;
    this.child!.kill('SIGCONT'); // a stopped process cannot act on SIGTERM
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface LocalClusterOptions {
  readonly servers: number;
  /** Folder for the data folders; default a new temporary folder, removed by stop(). */
  readonly root?: string;
  readonly tuning?: ServerTuning;
}

export class LocalCluster {
  readonly servers: ServerProcess[] = [];
  private stopped = false;

  private constructor(
    readonly root: string,
    private readonly ownsRoot: boolean,
    private readonly configFile: string,
  ) {}

  /** Starts `servers` processes in parallel; if one fails, all are stopped and the error thrown. */
  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const ownsRoot = options.root === undefined;
    const root = options.root ?? (await mkdtemp(join(tmpdir(), 'metaraft-cluster-')));
    await mkdir(root, { recursive: true });
    const configFile = join(root, 'server-config.json');
    await writeFile(configFile, JSON.stringify(options.tuning ?? {}, null, 2));
    const cluster = new LocalCluster(root, ownsRoot, configFile);
    try {
      await Promise.all(Array.from({ length: options.servers }, () => cluster.addServer()));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Starts one more server (a new peer: its own data folder and port). */
  async addServer(): Promise<ServerProcess> {
    if (this.stopped) throw new ServerStartError('the cluster is stopped');
    const name = `node-${this.servers.length + 1}`;
    const server = new ServerProcess(name, join(this.root, name), this.configFile);
    this.servers.push(server);
    await server.start();
    return server;
  }

  /** Peer addresses (`ip:port:0`) of the servers at these indexes (default: all). */
  peerAddresses(indexes: readonly number[] = this.servers.map((_, i) => i)): string[] {
    return indexes.map((i) => this.servers[i]!.peerAddress);
  }

  /** Index of the server with this peer address or `ip:port`, or -1. */
  indexOf(address: string): number {
    return this.servers.findIndex((server) => server.peerAddress === address || server.address === address);
  }

  /** Stops every server (SIGTERM, then SIGKILL after the grace period) and removes the temporary root. */
  async stop(graceMs = SERVER_STOP_GRACE_MS): Promise<void> {
    this.stopped = true;
    await Promise.all(this.servers.map((server) => server.stop(graceMs)));
    if (this.ownsRoot) await rm(this.root, { recursive: true, force: true });
  }

  /** SIGKILLs every server at once and waits for them; removes the temporary root. */
  async kill(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.servers.map((server) => server.kill()));
    if (this.ownsRoot) await rm(this.root, { recursive: true, force: true });
  }
}
