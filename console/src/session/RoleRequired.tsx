import { ApiError } from '../api/client.ts';
import { ErrorNote } from '../ui/States.tsx';
import { useSession } from './session.ts';

/** What a Member sees on the pages that need Owner or Admin: why, and who can help. */
export function RoleRequired() {
  const { workspace } = useSession();
  return (
    <section className="card refusal" aria-labelledby="refusal-title">
      <h1 id="refusal-title">Owner or Admin role needed</h1>
      <p>
        API keys, the audit log, anomalies, events and members of <strong>{workspace.name}</strong> are managed by its Owner and Admins. You are a{' '}
        <strong>Member</strong> of this workspace.
      </p>
      <p>Ask an Owner or Admin of the workspace to change your role, or to do this for you.</p>
    </section>
  );
}

export function isRoleRefusal(error: unknown): boolean {
  return error instanceof ApiError && error.code === 'insufficient_role';
}

/** A page's load error: the refusal page for a Member, the API's message otherwise. */
export function LoadError({ error, message, onRetry }: { error: unknown; message: string; onRetry: () => void }) {
  if (isRoleRefusal(error)) return <RoleRequired />;
  return <ErrorNote message={message} onRetry={onRetry} />;
}
