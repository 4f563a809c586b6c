import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireWorkspace } from '../accounts/workspace-scope.js';
import { recordManagementEvent } from '../audit/management-log.js';
import type { Db } from '../db/client.js';
import { callerContext } from '../http/context.js';
import { workspaceParams } from '../http/schemas.js';
import { seedDemoData } from './demo-data.js';

/**
 * The management twin of `cli demo-data`: a newcomer fills a workspace from the console (or curl) while
 * the server runs, which the CLI cannot do on the embedded database (one writer).
 */
export const demoDataRoutes: FastifyPluginAsyncZod<{ db: Db; now: () => Date }> = async (app, { db, now }) => {
  app.post('/v1/workspaces/:workspace_id/demo-data', { config: { permission: 'workspaces:write' }, schema: { params: workspaceParams } }, async (request) => {
    const workspaceId = requireWorkspace(request).id;
    const seeded = await seedDemoData(db, workspaceId, now());
    await recordManagementEvent(db, callerContext(request), {
      workspaceId,
      action: 'workspace.demo_data',
      target: { type: 'workspace', id: workspaceId },
      details: { ...seeded },
    });
    return { object: 'demo_data', live: seeded.live ? 'filled' : 'already had data', test: seeded.test ? 'filled' : 'already had data' };
  });
};
