/**
 * Real `redis-server` processes for tests, the sandbox and benchmarks.
 *
 * Each server runs on 127.0.0.1 with an ephemeral port and its own temporary directory (config,
 * log, RDB, TLS material, cluster nodes.conf), with `appendonly no` and no automatic snapshots.
 *
 * No orphans: the server is not spawned directly but under a tiny POSIX `sh` watchdog
 * ({@link WATCHDOG_SCRIPT}) whose stdin is a pipe from this Node process. The watchdog blocks on
 * reading that pipe; the kernel closes it whenever this process ends, however it ends (normal
 * exit, SIGINT/SIGTERM, crash, SIGKILL), and the watchdog then stops redis-server and removes the
 * temporary directory. On a normal exit an `exit` hook also signals every running server at once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { findFreePort } from './ports.js';
import { isProcessAlive } from './process.js';
import {
  type CertificateAuthority,
  generateCertificateAuthority,
  issueServerCertificate,
  SANDBOX_TLS_SERVERNAME,
} from './tls.js';

/** Options of {@link startRedisServer}. Everything is off unless asked for. */
export interface RedisServerOptions {
  /** `requirepass`: clients must AUTH with this password (replicas use it as `masterauth` too). */
  readonly requirepass?: string;
  /**
   * Serve TLS only (plaintext port disabled). `true` generates a CA for this server; pass a CA to
   * share one between servers (cluster nodes, primary and replica).
   */
  readonly tls?: boolean | CertificateAuthority;
  /** `cluster-enabled yes`, with its own bus port. Form a cluster with `formRedisCluster`. */
  readonly clusterEnabled?: boolean;
  /** `replicaof`: replicate from this primary (its `requirepass`, if any, goes in `masterAuth`). */
  readonly replicaOf?: { readonly host: string; readonly port: number };
  /** Password of the primary named in `replicaOf`. */
  readonly masterAuth?: string;
  /** Load this RDB file at start (it is copied into the server's directory, never modified). */
  readonly rdbFile?: string;
  /** Number of logical databases. @default 16 */
  readonly databases?: number;
  /** Further `redis.conf` directives, e.g. `{ 'hash-max-listpack-entries': '4' }`. */
  readonly config?: Readonly<Record<string, string>>;
  /** Allow `DEBUG` from local clients (useful for seeding; ElastiCache blocks it). @default false */
  readonly enableDebugCommand?: boolean;
  /** Path of the server binary. @default `REDIS_SERVER_BIN` or `redis-server` on PATH */
  readonly redisServerBin?: string;
  /** How long to wait for the server to answer PING. @default 20000 */
  readonly readyTimeoutMs?: number;
  /**
   * Address to listen on (any of 127.0.0.0/8 works on Linux without setup); outgoing replication
   * and cluster-bus connections leave from it too. @default '127.0.0.1'
   */
  readonly bind?: string;
  /**
   * A fixed client port (the TLS port when TLS is on) instead of an ephemeral one. When it is
   * taken, startRedisServer fails at once with {@link PortTakenError}: the caller picks another
   * address or port.
   */
  readonly port?: number;
  /** A fixed cluster bus port, when `clusterEnabled`. @default an ephemeral port */
  readonly busPort?: number;
  /**
   * With `tls`, also serve plaintext on this port (TLS and plaintext side by side, as
   * ElastiCache's `preferred` transit encryption mode does on one port).
   */
  readonly plaintextPort?: number;
  /** Further DNS names for the server certificate, when TLS is on (the `bind` address is added as an IP). */
  readonly tlsNames?: readonly string[];
  /**
   * Refuse clients the commands ElastiCache refuses ({@link RENAMED_COMMANDS} are renamed to
   * secret names, {@link ACL_DENIED_COMMANDS} are denied to the `default` user) while the holder of
   * this {@link AdminAccess} keeps them: {@link adminCall} sends the renamed commands, and
   * replicas and {@link RedisServer.adminClient} authenticate as its internal user. Give the
   * primary and its replicas the same access. @default unrestricted
   */
  readonly restrictCommands?: AdminAccess;
}

/**
 * Commands ElastiCache refuses to clients that the sandbox hides behind `rename-command`. The
 * current list (docs.aws.amazon.com/AmazonElastiCache/latest/dg/ClientConfig.RestrictedCommands.html,
 * see docs/aws-behaviour.md) is bgrewriteaof, bgsave, config, debug, migrate, replicaof, save,
 * slaveof, shutdown, sync; the 2023 list adds psync and acl setuser/load/save/deluser.
 * SYNC and PSYNC cannot be renamed (a replica sends them by their names to its primary, so
 * replication would break) and ACL subcommands cannot be renamed at all: those are denied to the
 * `default` user by an ACL rule instead ({@link ACL_DENIED_COMMANDS}).
 * Not modelled: the cluster admin subcommands of the 2023 list (CLUSTER ADDSLOTS, MEET, ...), which
 * the sandbox forms its clusters with over the `default` user.
 */
export const RENAMED_COMMANDS = [
  'BGREWRITEAOF',
  'BGSAVE',
  'CONFIG',
  'DEBUG',
  'MIGRATE',
  'REPLICAOF',
  'SAVE',
  'SHUTDOWN',
  'SLAVEOF',
] as const;

/** Denied to the `default` user by ACL rules (they cannot be renamed; see {@link RENAMED_COMMANDS}). */
export const ACL_DENIED_COMMANDS = [
  'sync',
  'psync',
  'acl|setuser',
  'acl|deluser',
  'acl|load',
  'acl|save',
] as const;

/**
 * The sandbox's own way past the restricted commands: the secret suffix of the renamed commands
 * and an internal ACL user (that replicas replicate as). One per data plane.
 */
export interface AdminAccess {
  /** Random; the renamed commands are `<command>-<secret>`. */
  readonly secret: string;
  readonly user: string;
  readonly password: string;
}

/** A fresh, random {@link AdminAccess}. */
export function createAdminAccess(): AdminAccess {
  return {
    secret: randomBytes(12).toString('hex'),
    user: `sandbox-internal-${randomBytes(4).toString('hex')}`,
    password: randomBytes(24).toString('hex'),
  };
}

/** The name a restricted command has on servers started with `access` (other commands: unchanged). */
export function adminCommandName(access: AdminAccess | undefined, command: string): string {
  const upper = command.toUpperCase();
  if (!access || !(RENAMED_COMMANDS as readonly string[]).includes(upper)) return command;
  return `${upper.toLowerCase()}-${access.secret}`;
}

/** Restricted servers by `host:port` (every port they serve), for {@link adminCall}. */
const adminAccessByAddress = new Map<string, AdminAccess>();

/**
 * Registers one more address where a restricted server answers (e.g. a port forwarder in front of
 * it), so that {@link adminCall} over a client of that address uses the internal names. Returns
 * the function that unregisters it.
 */
export function registerAdminAddress(host: string, port: number, access: AdminAccess): () => void {
  const key = `${host}:${port}`;
  adminAccessByAddress.set(key, access);
  return () => {
    if (adminAccessByAddress.get(key) === access) adminAccessByAddress.delete(key);
  };
}

/**
 * Sends a command as the sandbox's operator: a restricted command (CONFIG, BGSAVE, SHUTDOWN, ...)
 * goes under its internal name when `client` is connected to a server started with
 * `restrictCommands`, unchanged otherwise. This is for the sandbox itself and its tests, which
 * play ElastiCache's part; code under test must never need it (ElastiCache refuses these).
 * Example: `await adminCall(client, 'CONFIG', 'SET', 'notify-keyspace-events', 'KEA')`.
 */
export function adminCall(
  client: Redis,
  command: string,
  ...args: (string | number | Buffer)[]
): Promise<unknown> {
  const { host, port } = client.options;
  const access = adminAccessByAddress.get(`${host}:${port}`);
  return client.call(adminCommandName(access, command), ...args);
}

/** A running redis-server. Stop it with {@link RedisServer.stop}. */
export interface RedisServer {
  /** The address it listens on: 127.0.0.1 unless `bind` said otherwise. */
  readonly host: string;
  /** The port clients connect to (the TLS port when TLS is on). */
  readonly port: number;
  /** The plaintext port served beside TLS, when `plaintextPort` was given. */
  readonly plaintextPort?: number;
  /** Cluster bus port, when `clusterEnabled`. */
  readonly busPort?: number;
  readonly tls: boolean;
  /** PEM of the CA that signed the server certificate, when TLS is on. */
  readonly caPem?: string;
  /** Certificate authority that signed this server's certificate, when TLS is on. */
  readonly certificateAuthority?: CertificateAuthority;
  /** The server's temporary directory (removed by `stop()`). */
  readonly dir: string;
  readonly pid: number;
  readonly password?: string;
  /** ioredis options that reach this server (TLS, AUTH included). */
  connectionOptions(extra?: RedisOptions): RedisOptions;
  /** A new ioredis client for this server; the caller closes it. */
  client(extra?: RedisOptions): Redis;
  /** The {@link AdminAccess} the server was started with (`restrictCommands`). */
  readonly adminAccess?: AdminAccess;
  /**
   * A new ioredis client logged in as the internal user when the server is restricted (it may run
   * SYNC, ACL SETUSER, ...); renamed commands still need {@link adminCall}. The caller closes it.
   */
  adminClient(extra?: RedisOptions): Redis;
  /** Resolves when the server answers PING (and has finished loading). */
  ping(): Promise<void>;
  waitReady(timeoutMs?: number): Promise<void>;
  /**
   * Takes a background save (BGSAVE) and waits for it to finish; copies the RDB to `toPath` when
   * given. Resolves to the path of the RDB file.
   */
  save(toPath?: string): Promise<string>;
  /** Stops the server and removes its directory. Safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * The watchdog. Arguments: server binary, config file, directory to remove afterwards.
 * It prints the server's pid, then waits for either the server to exit or its own stdin to reach
 * EOF (the Node parent is gone or called stop()), or for SIGTERM/SIGINT/SIGHUP; then it stops the
 * server (SIGTERM, which shuts redis-server down without saving since `save ""`), reaps it and
 * removes the directory. When the server exits by itself the directory stays for its log (the
 * caller's stop() removes it). The stdin guard is a subshell running only builtins, so killing it
 * leaves no process behind. (An asynchronous list reads /dev/null unless told otherwise, hence fd 3.)
 */
export const WATCHDOG_SCRIPT = `
server="$1"; conf="$2"; cleanup_dir="$3"
exec 3<&0
"$server" "$conf" </dev/null >/dev/null 2>&1 3<&- &
child=$!
echo "$child"
guard=""
finish() {
  kill -TERM "$child" 2>/dev/null
  wait "$child" 2>/dev/null
  if [ -n "$guard" ]; then kill "$guard" 2>/dev/null; fi
  if [ -n "$cleanup_dir" ]; then rm -rf "$cleanup_dir"; fi
  exit 0
}
trap finish TERM INT HUP
( while read -r _line; do :; done; kill -TERM $$ 2>/dev/null ) <&3 &
guard=$!
wait "$child"
status=$?
kill "$guard" 2>/dev/null
exit "$status"
`;

interface Running {
  readonly watchdog: ChildProcess;
  readonly pid: number;
}

const running = new Set<Running>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const server of running) {
      for (const pid of [server.pid, server.watchdog.pid]) {
        if (pid === undefined) continue;
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
  });
}

function quote(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function readLog(dir: string): Promise<string> {
  try {
    const text = await readFile(join(dir, 'redis.log'), 'utf8');
    return text.split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts one redis-server; retries with a new port when the chosen one was taken meanwhile. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      lastError = error;
      // A fixed port stays taken: retrying it is the caller's choice.
      if (!(error instanceof PortTakenError) || options.port !== undefined) throw error;
    }
  }
  throw lastError;
}

/** The server could not listen: its address and port (or bus port) were taken meanwhile. */
export class PortTakenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PortTakenError';
  }
}

async function startOnce(options: RedisServerOptions): Promise<RedisServer> {
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'redis-sandbox-'));
  try {
    return await launch(options, dir);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(options: RedisServerOptions, dir: string): Promise<RedisServer> {
  const host = options.bind ?? '127.0.0.1';
  const port = options.port ?? (await findFreePort());
  const busPort = options.clusterEnabled ? (options.busPort ?? (await findFreePort())) : undefined;
  let ca: CertificateAuthority | undefined;
  const lines: string[] = [
    `bind ${host}`,
    `dir ${quote(dir)}`,
    'dbfilename dump.rdb',
    'save ""',
    'appendonly no',
    'daemonize no',
    `logfile ${quote(join(dir, 'redis.log'))}`,
    `databases ${options.databases ?? 16}`,
    'protected-mode no',
    // Disk-based full sync: with diskless sync (the 7.0 default) and no delay, the second of two
    // replicas connecting at once reported its link up but got the stream only seconds later
    // (offset 0 meanwhile), so a snapshot of it was empty. test/sandbox/redis-replication.test.ts
    'repl-diskless-sync no',
    `enable-debug-command ${options.enableDebugCommand ? 'local' : 'no'}`,
  ];
  if (options.tls) {
    ca = options.tls === true ? await generateCertificateAuthority(join(dir, 'ca')) : options.tls;
    const cert = await issueServerCertificate(ca, join(dir, 'tls'), {
      dns: options.tlsNames ?? [],
      ip: host === '127.0.0.1' ? [] : [host],
    });
    lines.push(
      `port ${options.plaintextPort ?? 0}`,
      `tls-port ${port}`,
      `tls-cert-file ${quote(cert.certFile)}`,
      `tls-key-file ${quote(cert.keyFile)}`,
      `tls-ca-cert-file ${quote(cert.caFile)}`,
      'tls-auth-clients no',
      'tls-replication yes',
    );
    if (options.clusterEnabled) lines.push('tls-cluster yes');
  } else {
    lines.push(`port ${port}`);
  }
  if (options.bind !== undefined) lines.push(`bind-source-addr ${host}`);
  const access = options.restrictCommands;
  if (access) {
    // The rules of `default` written here win over `requirepass` (applied after the config file),
    // so the password goes in the rule. The internal user is what replicas replicate as.
    const password = options.requirepass !== undefined ? quote(`>${options.requirepass}`) : 'nopass';
    const denied = ACL_DENIED_COMMANDS.map((command) => `-${command}`).join(' ');
    lines.push(
      `user default on ${password} ~* &* +@all ${denied}`,
      `user ${access.user} on ${quote(`>${access.password}`)} ~* &* +@all`,
    );
    for (const command of RENAMED_COMMANDS)
      lines.push(`rename-command ${command} ${adminCommandName(access, command)}`);
  } else if (options.requirepass !== undefined) {
    lines.push(`requirepass ${quote(options.requirepass)}`);
  }
  if (options.clusterEnabled) {
    lines.push(
      'cluster-enabled yes',
      `cluster-config-file ${quote(join(dir, 'nodes.conf'))}`,
      `cluster-port ${busPort}`,
      'cluster-node-timeout 5000',
    );
  }
  if (options.replicaOf) lines.push(`replicaof ${options.replicaOf.host} ${options.replicaOf.port}`);
  if (access) {
    lines.push(`masteruser ${access.user}`, `masterauth ${quote(access.password)}`);
  } else if (options.masterAuth !== undefined) {
    lines.push(`masterauth ${quote(options.masterAuth)}`);
  }
  for (const [name, value] of Object.entries(options.config ?? {})) lines.push(`${name} ${quote(value)}`);
  if (options.rdbFile !== undefined) await copyFile(options.rdbFile, join(dir, 'dump.rdb'));
  const confFile = join(dir, 'redis.conf');
  await writeFile(confFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  await mkdir(dir, { recursive: true });

  const bin = options.redisServerBin ?? process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const watchdog = spawn('sh', ['-c', WATCHDOG_SCRIPT, 'redis-watchdog', bin, confFile, dir], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const pid = await readPid(watchdog);
  const entry: Running = { watchdog, pid };
  running.add(entry);
  watchdog.once('exit', () => running.delete(entry));
  // Let the Node process exit while servers run: the exit hook and the stdin pipe stop them.
  watchdog.unref();
  for (const stream of [watchdog.stdin, watchdog.stdout]) {
    (stream as unknown as { unref?: () => void } | null)?.unref?.();
  }

  const tls = options.tls !== undefined && options.tls !== false;
  const connectionOptions = (extra: RedisOptions = {}): RedisOptions => ({
    host,
    port,
    ...(options.requirepass !== undefined ? { password: options.requirepass } : {}),
    ...(tls && ca ? { tls: { ca: ca.certPem, servername: SANDBOX_TLS_SERVERNAME } } : {}),
    protocol: 2,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    ...extra,
  });

  const unregister = access
    ? [port, ...(options.plaintextPort !== undefined ? [options.plaintextPort] : [])].map((p) =>
        registerAdminAddress(host, p, access),
      )
    : [];

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      for (const fn of unregister) fn();
      if (watchdog.exitCode === null && watchdog.signalCode === null) {
        const exited = once(watchdog, 'exit');
        watchdog.stdin?.end();
        const timer = setTimeout(() => {
          for (const p of [pid, watchdog.pid]) {
            if (p !== undefined && isProcessAlive(p)) process.kill(p, 'SIGKILL');
          }
        }, 10_000);
        await exited;
        clearTimeout(timer);
      }
      running.delete(entry);
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const withClient = async <T>(fn: (client: Redis) => Promise<T>): Promise<T> => {
    const client = new Redis(connectionOptions());
    client.on('error', () => {});
    try {
      await client.connect();
      return await fn(client);
    } finally {
      client.disconnect();
    }
  };

  const ping = async (): Promise<void> => {
    await withClient(async (client) => {
      const reply = await client.ping();
      if (reply !== 'PONG') throw new Error(`unexpected PING reply ${reply}`);
    });
  };

  const waitReady = async (timeoutMs = options.readyTimeoutMs ?? 20_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      if (watchdog.exitCode !== null) {
        const log = await readLog(dir);
        if (log.includes('Address already in use')) throw new PortTakenError(`port ${port} was taken`);
        throw new Error(`redis-server exited with status ${watchdog.exitCode} on port ${port}:\n${log}`);
      }
      try {
        await ping();
        return;
      } catch (error) {
        lastError = error;
        await sleep(25);
      }
    }
    throw new Error(
      `redis-server on port ${port} did not answer PING within ${timeoutMs} ms: ${(lastError as Error)?.message}\n${await readLog(dir)}`,
    );
  };

  const save = async (toPath?: string): Promise<string> => {
    const rdbPath = join(dir, 'dump.rdb');
    await withClient(async (client) => {
      const before = parseInfo(await client.info('persistence'));
      const savesBefore = Number(before.rdb_saves ?? '0');
      await adminCall(client, 'BGSAVE');
      for (;;) {
        const info = parseInfo(await client.info('persistence'));
        if (info.rdb_bgsave_in_progress === '0' && Number(info.rdb_saves ?? '0') > savesBefore) {
          if (info.rdb_last_bgsave_status !== 'ok') throw new Error('BGSAVE failed (see redis.log)');
          return;
        }
        await sleep(20);
      }
    });
    if (toPath === undefined) return rdbPath;
    await copyFile(rdbPath, toPath);
    return toPath;
  };

  const server: RedisServer = {
    host,
    port,
    ...(tls && options.plaintextPort !== undefined ? { plaintextPort: options.plaintextPort } : {}),
    ...(busPort !== undefined ? { busPort } : {}),
    tls,
    ...(ca ? { caPem: ca.certPem, certificateAuthority: ca } : {}),
    dir,
    pid,
    ...(options.requirepass !== undefined ? { password: options.requirepass } : {}),
    connectionOptions,
    client: (extra?: RedisOptions) => new Redis(connectionOptions({ lazyConnect: false, ...extra })),
    ...(access ? { adminAccess: access } : {}),
    adminClient: (extra?: RedisOptions) =>
      new Redis(
        connectionOptions({
          lazyConnect: false,
          ...(access ? { username: access.user, password: access.password } : {}),
          ...extra,
        }),
      ),
    ping,
    waitReady,
    save,
    stop,
  };
  try {
    await waitReady();
  } catch (error) {
    await stop();
    throw error;
  }
  return server;
}

async function readPid(watchdog: ChildProcess): Promise<number> {
  const stdout = watchdog.stdout;
  if (!stdout) throw new Error('watchdog has no stdout');
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline >= 0) {
        cleanup();
        const pid = Number(buffered.slice(0, newline).trim());
        if (Number.isInteger(pid) && pid > 0) resolve(pid);
        else reject(new Error(`watchdog printed no pid: ${buffered}`));
      }
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`watchdog exited (${code}) before starting redis-server`));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const cleanup = (): void => {
      stdout.off('data', onData);
      watchdog.off('exit', onExit);
      watchdog.off('error', onError);
    };
    stdout.on('data', onData);
    watchdog.once('exit', onExit);
    watchdog.once('error', onError);
  });
}

/** Parses an INFO reply into `field -> value`. */
export function parseInfo(info: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of info.split('\r\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/** Stops every server given, in parallel; errors of one do not prevent stopping the others. */
export async function stopAll(servers: Iterable<RedisServer | undefined>): Promise<void> {
  await Promise.allSettled([...servers].map((server) => server?.stop()));
}
