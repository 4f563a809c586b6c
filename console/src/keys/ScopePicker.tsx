import type { ScopeInfo } from '../api/types.ts';

/** The deployment's scope catalog as grouped checkboxes, each with what it allows. */
export function ScopePicker({
  groups,
  selected,
  onChange,
  error,
}: {
  groups: Array<[string, ScopeInfo[]]>;
  selected: string[];
  onChange: (scopes: string[]) => void;
  error?: string | undefined;
}) {
  const toggle = (scope: string, on: boolean) => onChange(on ? [...selected, scope] : selected.filter((s) => s !== scope));
  return (
    <fieldset className={error ? 'scopes invalid' : 'scopes'} aria-describedby={error ? 'scopes-error' : undefined}>
      <legend>Scopes</legend>
      <p className="hint">Grant only what the integration needs.</p>
      <div className="scope-groups">
        {groups.map(([group, scopes]) => (
          <div key={group} className="scope-group" role="group" aria-label={group}>
            <p className="scope-group-title">{group}</p>
            {scopes.map((s) => (
              <label key={s.scope} className="check">
                <input type="checkbox" checked={selected.includes(s.scope)} onChange={(e) => toggle(s.scope, e.target.checked)} />
                <span>
                  <code>{s.scope}</code>
                  <span className="allows">{s.description}</span>
                </span>
              </label>
            ))}
          </div>
        ))}
      </div>
      {error && (
        <p className="field-error" id="scopes-error">
          {error}
        </p>
      )}
    </fieldset>
  );
}
