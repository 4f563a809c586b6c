import { useRef, useState } from 'react';
import { api } from '../api/client.ts';
import type { AuditFilters } from '../api/types.ts';

type Format = 'ndjson' | 'csv';
type Progress = { state: 'idle' } | { state: 'running'; format: Format; rows: number; bytes: number } | { state: 'done' | 'failed'; text: string };

const number = new Intl.NumberFormat();

function megabytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

/**
 * Exports the filtered range with a running count of rows and bytes: the server streams it, and a large
 * range takes a while. The file is saved when the stream ends; Cancel stops it.
 */
export function ExportButtons({ workspaceId, filters }: { workspaceId: string; filters: AuditFilters }) {
  const [progress, setProgress] = useState<Progress>({ state: 'idle' });
  const abort = useRef<AbortController | null>(null);

  async function run(format: Format) {
    const controller = new AbortController();
    abort.current = controller;
    setProgress({ state: 'running', format, rows: 0, bytes: 0 });
    try {
      const response = await api.exportAudit(workspaceId, filters, format, controller.signal);
      if (!response.body) throw new Error('The export failed: the server sent no file.');
      const chunks: Uint8Array[] = [];
      let bytes = 0;
      let lines = 0;
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        bytes += value.byteLength;
        for (const byte of value) if (byte === 10) lines++;
        setProgress({ state: 'running', format, rows: format === 'csv' ? Math.max(0, lines - 1) : lines, bytes });
      }
      const rows = format === 'csv' ? Math.max(0, lines - 1) : lines;
      const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? `audit.${format}`;
      const url = URL.createObjectURL(new Blob(chunks as BlobPart[], { type: response.headers.get('content-type') ?? 'application/octet-stream' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = name;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setProgress({ state: 'done', text: `Exported ${number.format(rows)} events (${megabytes(bytes)}) to ${name}.` });
    } catch (error) {
      const cancelled = controller.signal.aborted;
      setProgress({ state: 'failed', text: cancelled ? 'Export cancelled.' : error instanceof Error ? error.message : 'The export failed.' });
    } finally {
      abort.current = null;
    }
  }

  const running = progress.state === 'running';
  return (
    <div className="exports">
      <span className="muted">Export:</span>
      <button type="button" className="button secondary small" disabled={running} onClick={() => void run('ndjson')}>
        NDJSON
      </button>
      <button type="button" className="button secondary small" disabled={running} onClick={() => void run('csv')}>
        CSV
      </button>
      {running && (
        <button type="button" className="button secondary small" onClick={() => abort.current?.abort()}>
          Cancel
        </button>
      )}
      <span className="muted" role="status" aria-live="polite">
        {progress.state === 'running' && `Exporting ${progress.format.toUpperCase()}… ${number.format(progress.rows)} events, ${megabytes(progress.bytes)}`}
        {(progress.state === 'done' || progress.state === 'failed') && progress.text}
      </span>
    </div>
  );
}
