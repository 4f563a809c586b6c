import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { PrincipalClaims, VerifiedKey } from '@latchkey/sdk';
import { InvoiceStore, type NewInvoice } from './store.js';

/** What guards a route: given the scope the route needs, a middleware that admits only keys holding it. */
export type Protect = (scope: string) => RequestHandler;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's own way to add to its Request
  namespace Express {
    interface Request {
      /** Behind Latchkey's gateway: who called, as the gateway signed it (set by gatewayGuard). */
      principal?: PrincipalClaims;
    }
  }
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly param?: string,
  ) {
    super(message);
  }
}

/** The tenant is our customer's account (the workspace's external id) and the key's mode. */
function tenantOf(req: Request): string {
  if (req.principal) return `${req.principal.workspace_external_id ?? req.principal.workspace_id}:${req.principal.mode}`;
  const key = req.latchkey as VerifiedKey;
  return `${key.workspace?.external_id ?? key.workspace?.id}:${key.key?.mode}`;
}

function readNewInvoice(body: unknown): NewInvoice {
  const { customer, amount_cents, currency } = (body ?? {}) as Record<string, unknown>;
  if (typeof customer !== 'string' || customer.length < 1 || customer.length > 200) throw new ApiError(400, 'invalid_request', 'customer must be a text of 1 to 200 characters.', 'customer');
  if (!Number.isInteger(amount_cents) || (amount_cents as number) < 1 || (amount_cents as number) > 100_000_000_00) {
    throw new ApiError(400, 'invalid_request', 'amount_cents must be a whole number of cents, at least 1.', 'amount_cents');
  }
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) throw new ApiError(400, 'invalid_request', 'currency must be an ISO 4217 code such as EUR.', 'currency');
  return { customer, amount_cents: amount_cents as number, currency };
}

/** The invoices API. `protect` is Latchkey's middleware, or the gateway's principal check (server.ts). */
export function createInvoicesApp(protect: Protect, store = new InvoiceStore()): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '16kb' }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/v1/invoices', protect('invoices:read'), (req, res) => {
    const limit = Math.min(Math.max(Number(req.query.limit ?? 20) || 20, 1), 100);
    res.json({ object: 'list', data: store.list(tenantOf(req), limit) });
  });

  app.post('/v1/invoices', protect('invoices:write'), (req, res) => {
    res.status(201).json(store.create(tenantOf(req), readNewInvoice(req.body)));
  });

  app.get('/v1/invoices/:id', protect('invoices:read'), (req, res) => {
    const invoice = store.get(tenantOf(req), req.params.id as string);
    if (!invoice) throw new ApiError(404, 'not_found', 'No such invoice.');
    res.json(invoice);
  });

  app.post('/v1/invoices/:id/pay', protect('payments:write'), (req, res) => {
    const paid = store.pay(tenantOf(req), req.params.id as string);
    if (!paid) throw new ApiError(404, 'not_found', 'No such invoice.');
    if (paid === 'already_paid') throw new ApiError(409, 'invoice_already_paid', 'This invoice is already paid.');
    res.json(paid);
  });

  app.use((_req: Request, _res: Response, next: NextFunction) => next(new ApiError(404, 'not_found', 'No such route.')));
  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    const known = error instanceof ApiError ? error : (error as { type?: string }).type === 'entity.parse.failed' ? new ApiError(400, 'invalid_request', 'The body is not valid JSON.', 'body') : null;
    if (!known) console.error(error);
    const { status, code, message, param } = known ?? new ApiError(500, 'internal_error', 'Something went wrong.');
    res.status(status).json({ error: { code, message, ...(param ? { param } : {}) } });
  });
  return app;
}
