import type { LoadResult } from './lib.js';

/**
 * For a benchmark run with --cpu-prof DIR: the command that summarizes the server's profile over one
 * target's measured runs only (startup, setup and the other targets are in the same profile).
 */
export function profileHint(dir: string, target: string, runs: readonly LoadResult[]): string {
  const window = `--from ${runs[0]?.measuredFromUs} --to ${runs.at(-1)?.measuredToUs}`;
  return `  ${target}: node --import tsx bench/cpu-profile-top.ts ${window} ${dir}/<file>.cpuprofile`;
}
