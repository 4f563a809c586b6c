import { useCallback, useEffect, useState } from 'react';
import { messageOf } from '../api/client.ts';

export type Loaded<T> = { state: 'loading' } | { state: 'error'; message: string; error: unknown } | { state: 'ready'; data: T };

/** Loads once per change of `deps`, with loading and error states and a reload that keeps the data shown. */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): [Loaded<T>, () => void] {
  const [result, setResult] = useState<Loaded<T>>({ state: 'loading' });
  const [version, setVersion] = useState(0);
  // `load` is a new closure on each render; `deps` says when it reads something new.
  const run = useCallback(load, deps);
  useEffect(() => {
    let current = true;
    run().then(
      (data) => current && setResult({ state: 'ready', data }),
      (error: unknown) => current && setResult({ state: 'error', message: messageOf(error), error }),
    );
    return () => {
      current = false;
    };
  }, [run, version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return [result, reload];
}
