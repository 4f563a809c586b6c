import type { Mode } from '../api/types.ts';

export function ModeBadge({ mode }: { mode: Mode }) {
  return <span className={`badge mode-${mode}`}>{mode}</span>;
}

export function StatusBadge({ status, label = status }: { status: string; label?: string }) {
  return <span className={`badge status-${status}`}>{label}</span>;
}
