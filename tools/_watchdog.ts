/**
 * Runs a subprocess to completion, killing it if it runs for too long: a hang then fails the
 * caller (a test, a CI step) instead of stalling everything after it. Used by tools/test_all.ts,
 * tests/examples_test.ts and tests/bench_smoke_test.ts.
 *
 * @module
 */

/** What `runWithin` reports: the subprocess's output, and whether it was killed. */
export interface Finished {
  output: Deno.CommandOutput;
  killed: boolean;
}

/**
 * Spawns `command` with `options` (stdout and stderr piped unless said otherwise), waits for it,
 * and kills it with SIGKILL after `ms` milliseconds.
 *
 * @param ms The longest the subprocess may run.
 * @param command The executable.
 * @param options As for `Deno.Command`.
 * @returns Its output (what it wrote before it was killed, if it was) and whether it was killed.
 */
export async function runWithin(
  ms: number,
  command: string | URL,
  options: Deno.CommandOptions,
): Promise<Finished> {
  const child = new Deno.Command(command, { stdout: "piped", stderr: "piped", ...options })
    .spawn();
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, ms);
  const output = await child.output().finally(() => clearTimeout(timer));
  return { output, killed };
}
