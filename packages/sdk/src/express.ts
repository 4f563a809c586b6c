import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Guard, VerifiedKey } from './guard.js';

/** Express 5 middleware: `req.ip` is the client (Express's `trust proxy` setting applies). */
export function expressMiddleware(guard: Guard): RequestHandler {
  return function latchkey(req: Request, res: Response, next: NextFunction): void {
    guard({ authorization: req.headers.authorization, ip: req.ip, method: req.method, url: req.originalUrl }).then((decision) => {
      res.set(decision.headers);
      if (!decision.pass) {
        res.status(decision.status).json(decision.body);
        return;
      }
      req.latchkey = decision.latchkey;
      next();
    }, next);
  };
}
