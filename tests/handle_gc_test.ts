// Issue 12: a handle garbage-collected without being posted or adopted closes its end (an end
// collected unclosed already did); one that was copied out of the thread — by any path, a
// MessagePort included — is left alone.
import assert from "node:assert/strict";

Deno.test("a handle collected unsent closes its end; a sent or kept one does not", async () => {
  const script = new URL("./fixtures/handle_gc.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", "--v8-flags=--expose-gc", script],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const { code, stdout, stderr } = await child.output();
  clearTimeout(killer);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.deepEqual(JSON.parse(new TextDecoder().decode(stdout)), {
    dropped: "disconnected",
    droppedReceiver: true,
    kept: ["empty", "sender"],
    viaPort: 4,
  });
});
