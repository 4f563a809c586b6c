import type { FastifyInstance } from 'fastify';
import type { AuditWriter } from '../audit/audit-writer.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { Config } from '../config.js';
import type { Db } from '../db/client.js';
import type { Metrics } from '../metrics.js';
import { buildGateway } from './gateway.js';
import { jwksRoutes } from './jwks-routes.js';
import { createPrincipalSigner } from './principal-signer.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The gateway's own listener (server.ts starts it on GATEWAY_PORT); null without a gateway in the product file. */
    gateway: FastifyInstance | null;
  }
}

export interface GatewaySurfaceDeps {
  config: Config;
  db: Db;
  now: () => Date;
  authenticator: Authenticator;
  /** null only when the audit log is off (the benchmark measuring its cost). */
  auditWriter: AuditWriter | null;
  metrics: Metrics;
}

/**
 * With a gateway in the product file: the signer of Latchkey-Principal, its public keys at
 * `/.well-known/jwks.json` on the main listener, and the gateway's own Fastify instance sharing the
 * authenticator and audit writer, closed before them.
 */
export async function gatewaySurface(app: FastifyInstance, deps: GatewaySurfaceDeps): Promise<void> {
  app.decorate('gateway', null);
  const gateway = deps.config.product.gateway;
  if (!gateway) return;
  const signer = await createPrincipalSigner({ db: deps.db, now: deps.now, configuredKey: deps.config.gatewaySigningKey, signEveryCall: gateway.sign_every_call, log: app.log });
  await app.register(jwksRoutes, { signer });
  const instance = await buildGateway({
    gateway,
    config: deps.config,
    logger: app.log.child({ listener: 'gateway' }),
    authenticator: deps.authenticator,
    signer,
    audit: deps.auditWriter ? { writer: deps.auditWriter, now: deps.now } : null,
    metrics: deps.metrics,
  });
  app.gateway = instance;
  // Before the main instance's own close (and its audit writer's): the gateway's last calls are audited too.
  app.addHook('preClose', async () => {
    await instance.close();
  });
  app.addHook('onClose', async () => {
    await signer.close();
  });
}
