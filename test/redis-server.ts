import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { freePort, stopOnExit } from './process.js';

/**
 * A private Redis for the tests that stop and start it: its own port, nothing kept on disk, so the
 * machine's shared server (6379, used by every other suite) is never touched.
 */
export interface PrivateRedis {
  url: string;
  port: number;
  /** Starts it (again, on the same port); does nothing while it runs. */
  start(): Promise<void>;
  /** Kills it (SIGKILL), as when Redis crashes: clients see their connections drop at once. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** SIGSTOP: it stops answering but its connections stay open, as a hung server or a lost network does. */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
  /** Stops it if it runs. */
  destroy(): Promise<void>;
}

const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';

/** Why the private-Redis suites skip, or null; under CI=true a missing redis-server fails the run instead. */
export function privateRedisSkipReason(): string | null {
  const found = spawnSync(REDIS_SERVER, ['--version']).status === 0;
  const reason = found ? null : `${REDIS_SERVER} not found (install Debian's redis-server, or set REDIS_SERVER)`;
  if (reason && process.env.CI === 'true') throw new Error(`${reason}; CI=true requires it, so the suite fails rather than skips`);
  if (reason) process.stderr.write(`# skipping: ${reason}\n`);
  return reason;
}

/** A PING over a raw socket: true once the server answers +PONG. */
async function answersPing(port: number): Promise<boolean> {
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  try {
    await Promise.race([once(socket, 'connect'), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 500))]);
    socket.write('PING\r\n');
    const [chunk] = (await Promise.race([once(socket, 'data'), new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 500))])) as [Buffer];
    return chunk.toString().startsWith('+PONG');
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';
  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const server: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      if (running()) return;
      output = '';
      const started = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
      started.once('exit', stopOnExit(() => started.kill('SIGKILL')));
      child = started;
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const deadline = Date.now() + 10_000;
      while (!(await answersPing(port))) {
        if (!running()) throw new Error(`redis-server exited:\n${output}`);
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          throw new Error(`redis-server did not answer on port ${port} within 10 s:\n${output}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      if (!running()) return;
      const exited = once(child!, 'exit');
      child!.kill('SIGKILL');
      await exited;
    },
    async restart() {
      await server.stop();
      await server.start();
    },
    freeze() {
      if (running()) child!.kill('SIGSTOP');
    },
    thaw() {
      if (running()) child!.kill('SIGCONT');
    },
    async destroy() {
      server.thaw(); // a stopped process does not act on SIGKILL's exit until it is continued on some systems
      await server.stop();
    },
  };
  await server.start();
  return server;
}

/**
 * A Redis that hangs, made to count: a TCP server on loopback that reads RESP commands and never
 * answers them, except the client's handshake (HELLO, CLIENT SETINFO, and INFO, its ready check), so that a
 * client connects and then waits. `received` counts every other command by name (upper case).
 */
export interface HungRedis {
  url: string;
  received: Map<string, number>;
  /** Commands received, the handshake aside. */
  total(): number;
  close(): Promise<void>;
}

const READY_INFO = '# Server\r\nredis_version:7.0.0\r\nloading:0\r\n';

/** The name of each complete RESP command (`*N\r\n$len\r\narg\r\n...`) at the start of `buffer`, and what is left. */
export function readCommands(buffer: Buffer): { names: string[]; rest: Buffer } {
  const names: string[] = [];
  let at = 0;
  for (;;) {
    const header = buffer.indexOf('\r\n', at);
    if (header < 0 || buffer[at] !== 0x2a /* '*' */) break;
    const count = Number(buffer.subarray(at + 1, header).toString());
    let cursor = header + 2;
    let name: string | undefined;
    let complete = true;
    for (let i = 0; i < count; i++) {
      const lengthEnd = buffer.indexOf('\r\n', cursor);
      if (lengthEnd < 0) {
        complete = false;
        break;
      }
      const length = Number(buffer.subarray(cursor + 1, lengthEnd).toString());
      if (buffer.length < lengthEnd + 2 + length + 2) {
        complete = false;
        break;
      }
      if (i === 0) name = buffer.subarray(lengthEnd + 2, lengthEnd + 2 + length).toString().toUpperCase();
      cursor = lengthEnd + 2 + length + 2;
    }
    if (!complete) break;
    names.push(name ?? '');
    at = cursor;
  }
  return { names, rest: buffer.subarray(at) };
}

export async function startHungRedis(): Promise<HungRedis> {
  const received = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      const { names, rest } = readCommands(Buffer.concat([pending, chunk]));
      pending = rest;
      for (const name of names) {
        if (name === 'INFO') socket.write(`$${Buffer.byteLength(READY_INFO)}\r\n${READY_INFO}\r\n`);
        else if (name === 'CLIENT') socket.write('+OK\r\n');
        else if (name === 'HELLO') socket.write('-NOPROTO unsupported protocol version\r\n'); // the client stays on RESP2
        else received.set(name, (received.get(name) ?? 0) + 1);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${address.port}`,
    received,
    total: () => [...received.values()].reduce((sum, n) => sum + n, 0),
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}
