import { describe, it, type SuiteContext, type TestOptions } from 'node:test';

/**
 * describe(), or in its place, when `options.skip` holds a reason, one skipped test of the same name:
 * node's runner counts a skipped describe among the suites and not in `# skipped`, so a suite skipped for
 * want of a server would leave the summary saying `skipped 0`. Every skipped suite counts one.
 */
export function describeOrSkip(name: string, options: TestOptions, body: (context: SuiteContext) => void): void {
  if (typeof options.skip === 'string' || options.skip === true) it(name, { skip: options.skip }, () => {});
  else describe(name, options, body);
}
