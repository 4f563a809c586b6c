import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/**
 * What this process started that would outlive it: servers in process groups of their own (which a
 * Ctrl-C on the terminal does not reach), a private Redis or PostgreSQL. Each is registered with a way
 * to stop it at once, synchronously, run when the process exits or is told to (SIGINT, SIGTERM, SIGHUP),
 * so that an interrupted run leaves nothing behind. Stopping one normally unregisters it.
 */
const running = new Map<number, () => void>();
let nextId = 0;
let handlersInstalled = false;

function stopEverything(): void {
  for (const stop of running.values()) {
    try {
      stop();
    } catch {
      // already gone
    }
  }
  running.clear();
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.once('exit', stopEverything);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      stopEverything();
      process.off(signal, onSignal);
      // Others listening (the test runner, a benchmark's own cleanup) decide how to exit; alone, the
      // signal's default does: it is raised again now that it has no handler.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Registers a synchronous way to stop something this process started; returns the way to unregister it. */
export function stopOnExit(stop: () => void): () => void {
  installExitHandlers();
  const id = nextId++;
  running.set(id, stop);
  return () => void running.delete(id);
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface RunningServer {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** SIGTERM to the whole process group (npm and the node it started); resolves when the leader exits. */
  stop(): Promise<void>;
}

/** Starts a command that serves HTTP and waits until `readyPath` (Latchkey's /healthz) answers 2xx. */
export async function startServer(
  command: string,
  args: string[],
  env: Record<string, string>,
  port: number,
  timeoutMs = 90_000,
  readyPath = '/healthz',
): Promise<RunningServer> {
  const child = spawn(command, args, { env: { ...process.env, ...env, PORT: String(port) }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.once('exit', stopOnExit(() => signalGroup(child, 'SIGKILL')));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}${readyPath}`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      signalGroup(child, 'SIGKILL');
      throw new Error(`server did not answer within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      signalGroup(child, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}
