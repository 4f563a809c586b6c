import { api } from '../api/client.ts';
import type { ScopeInfo } from '../api/types.ts';
import { useLoad } from '../ui/useLoad.ts';

/** The scope catalog, grouped as the API lists it. */
export function useScopes() {
  return useLoad(async () => {
    const { data } = await api.scopes();
    const groups = new Map<string, ScopeInfo[]>();
    for (const scope of data) groups.set(scope.group, [...(groups.get(scope.group) ?? []), scope]);
    return [...groups.entries()];
  }, []);
}
