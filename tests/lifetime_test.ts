// Process lifetime: blocked workers unwind when terminated (working around Deno 2.9.6, whose
// worker.terminate() does not stop synchronous code: denoland/deno#35657), and pending async
// receives keep the process alive exactly while pending.
import assert from "node:assert/strict";

async function run(script: string, ...args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", new URL(script, import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), 15_000);
  });
  const result = await Promise.race([child.output(), timedOut]);
  clearTimeout(timer);
  if (result === "timeout") {
    child.kill("SIGKILL");
    await child.output();
    assert.fail(`${script} ${args.join(" ")} did not exit within 15 s`);
  }
  return {
    code: result.code,
    stdout: new TextDecoder().decode(result.stdout),
    stderr: new TextDecoder().decode(result.stderr),
  };
}

for (const mode of ["recvSync", "sendSync", "iterator"]) {
  Deno.test(`terminating a worker blocked in ${mode} lets the process exit`, async () => {
    const started = performance.now();
    const { code, stdout, stderr } = await run("./fixtures/terminate_blocked.ts", mode);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /main done/);
    assert.ok(performance.now() - started < 10_000);
  });
}

Deno.test("an awaited recv with AbortSignal.timeout(50) rejects in an idle process", async () => {
  const { code, stdout, stderr } = await run("./fixtures/idle_recv_timeout.ts");
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim(), "TimeoutError");
});

Deno.test("a pending recv keeps an otherwise idle process alive until its message", async () => {
  const { code, stdout, stderr } = await run("./fixtures/idle_recv_unref_timer.ts");
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim(), "late");
});
