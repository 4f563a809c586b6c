import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from '../src/db/client.js';
import { newEndpointSecret } from '../src/events/signing.js';
import { newId } from '../src/ids.js';

/** A webhook receiver on loopback, as a customer runs one: what it received, and how it answers. */
export interface Receiver {
  url: string;
  port: number;
  received: Array<{ headers: IncomingHttpHeaders; body: string }>;
  /** TCP connections accepted (a refused address must not even connect). */
  connections: number;
  /** How the next requests are answered; by default 200 "ok". */
  answer: (request: IncomingMessage, response: ServerResponse, body: string) => void;
  close(): Promise<void>;
}

export async function startReceiver(answer?: Receiver['answer'], port = 0): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    port: 0,
    received: [],
    connections: 0,
    answer: answer ?? ((_request, response) => response.end('ok')),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      receiver.received.push({ headers: request.headers, body });
      receiver.answer(request, response, body);
    });
  });
  server.on('connection', () => receiver.connections++);
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}/hook`;
  return receiver;
}

/** An endpoint and its signing secret, written directly (the routes are not what these tests are about). */
export async function addEndpoint(
  db: Db,
  fields: { url: string; workspaceId: string; events?: string[]; enabled?: boolean },
): Promise<{ id: string; secret: string }> {
  const id = newId('whe');
  const secret = newEndpointSecret();
  await db
    .insertInto('event_endpoints')
    .values({
      id,
      audience: 'workspace',
      workspace_id: fields.workspaceId,
      mode: null,
      url: fields.url,
      events: fields.events ?? ['*'],
      enabled: fields.enabled ?? true,
      service_key_id: null,
      description: null,
      disabled_at: null,
      disabled_reason: null,
      created_by: null,
    })
    .execute();
  await db.insertInto('event_endpoint_secrets').values({ id: newId('whs'), endpoint_id: id, secret, expires_at: null }).execute();
  return { id, secret };
}

export async function until<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
