// The library in a browser: headless Chromium opens tests/browser/index.html, whose checks.mjs
// runs channels and spawn on the page's main thread with the single-file build (`deno task
// bundle`), tests/runtimes/spawn_peer.mjs as the spawned workers' module. This test serves them
// from a temporary directory on 127.0.0.1, cross-origin isolated (COOP + COEP on every response:
// no SharedArrayBuffer otherwise), and hears every check's result from the page (POST /result).
// A watchdog kills a browser that does not report in time; nothing is timed.
//
// Skipped when no `chromium` is on PATH, unless CI is set (.ci/run installs it): then it fails.
import assert from "node:assert/strict";
import { runWithin } from "../tools/_watchdog.ts";
import { findExecutable } from "./_helpers/executables.ts";

const ROOT = new URL("../", import.meta.url);

/** What the test serves (from a temporary directory), and where each file comes from. */
const FILES: Record<string, URL | "bundle"> = {
  "index.html": new URL("tests/browser/index.html", ROOT),
  "checks.mjs": new URL("tests/browser/checks.mjs", ROOT),
  "spawn_peer.mjs": new URL("tests/runtimes/spawn_peer.mjs", ROOT),
  "mpsc.mjs": "bundle",
};

/** Longest the bundling, or the page's checks, may take before they are killed (both take ~1 s). */
const WATCHDOG_MS = 60_000;

/** Every response: cross-origin isolation (SharedArrayBuffer needs it), nothing cached. */
const HEADERS = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cache-Control": "no-store",
};

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
};

const CHROMIUM = findExecutable(["chromium", "chromium-browser"]);

/** What the page posts (see checks.mjs and index.html). */
interface Report {
  kind: "start" | "begin" | "check" | "error" | "fatal" | "done";
  name?: string;
  ok?: boolean;
  detail?: string;
  error?: string;
  message?: string;
  ms?: number;
  userAgent?: string;
  checks?: number;
}

/** Bundles the library into `out` as `deno task bundle` does. */
async function bundle(out: string): Promise<void> {
  const { output, killed } = await runWithin(WATCHDOG_MS, Deno.execPath(), {
    args: ["bundle", "--quiet", "src/_bundle.ts", "-o", out],
    cwd: ROOT,
    stdin: "null",
    env: { NO_COLOR: "1" },
  });
  const stderr = new TextDecoder().decode(output.stderr);
  assert.ok(!killed, `deno bundle did not finish within ${WATCHDOG_MS} ms`);
  assert.equal(output.code, 0, `deno bundle src/_bundle.ts failed:\n${stderr}`);
  // A browser cannot load a `node:` module: the library must not import one statically.
  const imports = [...(await Deno.readTextFile(out)).matchAll(/^import\b[^;\n]*"(node:[^"]+)"/gm)];
  assert.deepEqual(imports.map((m) => m[1]), [], "the bundle imports node: modules");
}

/** A running Chromium: its own process group, so that killing it kills its helpers too. */
interface Browser {
  /** What it printed (its log, with the page's console), the last 64 KiB. */
  log(): string;
  /** Resolves when its main process has exited. */
  exited: Promise<Deno.CommandStatus>;
  /** Kills every process of the browser and waits for the main one and its output. */
  kill(): Promise<void>;
}

function launch(chromium: string, profile: string, url: string): Browser {
  const child = new Deno.Command(chromium, {
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--no-default-browser-check",
      `--user-data-dir=${profile}`,
      "--disable-extensions",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--mute-audio",
      "--enable-logging=stderr",
      url,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    detached: true, // a new session and process group, killed as one
  }).spawn();
  let log = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      log = (log + text).slice(-65536);
    }
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  return {
    log: () => log,
    exited: child.status,
    async kill() {
      try {
        Deno.kill(-child.pid, "SIGKILL");
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error; // the group is gone already
      }
      await child.status;
      await drained;
    },
  };
}

Deno.test({
  name: CHROMIUM
    ? "the library works in a browser (headless Chromium)"
    : "the library works in a browser (skipped: no `chromium` on PATH)",
  // CI installs Chromium (.ci/run): there a missing Chromium fails instead.
  ignore: CHROMIUM === undefined && Deno.env.get("CI") === undefined,
  fn: async () => {
    assert.ok(CHROMIUM, "no `chromium` on PATH (Debian: apt-get install chromium; .ci/run does)");
    const dir = await Deno.makeTempDir({ prefix: "mpsc_browser_" });
    const profile = await Deno.makeTempDir({ prefix: "mpsc_chromium_" });
    try {
      for (const [name, source] of Object.entries(FILES)) {
        if (source === "bundle") await bundle(`${dir}/${name}`);
        else await Deno.copyFile(source, `${dir}/${name}`);
      }
      const reports: Report[] = [];
      let finish!: (why: string) => void;
      const finished = new Promise<string>((resolve) => finish = resolve);
      const server = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen: () => {} },
        async (request) => {
          const path = new URL(request.url).pathname.slice(1);
          if (request.method === "POST" && path === "result") {
            const report = await request.json() as Report;
            reports.push(report);
            if (report.kind === "done") finish("done");
            if (report.kind === "fatal") finish(`the page failed: ${report.message}`);
            if (report.kind === "error" && !reports.some((r) => r.kind === "start")) {
              finish(`the page failed before its checks began: ${report.message}`);
            }
            return new Response(null, { status: 204, headers: HEADERS });
          }
          if (request.method !== "GET" || !Object.hasOwn(FILES, path)) {
            await request.body?.cancel();
            return new Response("not found", { status: 404, headers: HEADERS });
          }
          const body = await Deno.readFile(`${dir}/${path}`);
          const type = TYPES[path.slice(path.lastIndexOf(".") + 1)];
          return new Response(body, { headers: { ...HEADERS, "Content-Type": type } });
        },
      );
      let outcome: string;
      let log: string;
      try {
        const url = `http://127.0.0.1:${server.addr.port}/index.html`;
        const browser = launch(CHROMIUM, profile, url);
        let watchdog: ReturnType<typeof setTimeout> | undefined;
        try {
          watchdog = setTimeout(
            () => finish(`no final report within ${WATCHDOG_MS} ms (Chromium was killed)`),
            WATCHDOG_MS,
          );
          browser.exited.then((status) => finish(`Chromium exited (code ${status.code})`));
          outcome = await finished;
        } finally {
          clearTimeout(watchdog);
          await browser.kill();
        }
        log = browser.log();
      } finally {
        await server.shutdown();
      }

      const lines = reports.map((r) => {
        switch (r.kind) {
          case "start":
            return `page: ${r.userAgent}`;
          case "begin":
            return `  … ${r.name}`;
          case "check":
            return `  ${r.ok ? "ok" : "FAILED"}: ${r.name} (${r.ms} ms)` +
              (r.ok ? "" : `\n${indent(r.error!)}`) + (r.detail ? `\n${indent(r.detail)}` : "");
          case "error":
            return `  page error: ${r.message}`;
          default:
            return `${r.kind}: ${r.message ?? ""}`;
        }
      });
      const summary = `${lines.join("\n")}\n${outcome}`;
      console.log(summary);
      const context = `${summary}\n--- Chromium's log (last 64 KiB):\n${log}`;
      assert.equal(outcome, "done", context);
      const done = reports.find((r) => r.kind === "done")!;
      const results = reports.filter((r) => r.kind === "check");
      assert.equal(results.length, done.checks, `some checks did not report:\n${context}`);
      const failed = results.filter((r) => !r.ok).map((r) => r.name);
      assert.deepEqual(failed, [], `checks failed in Chromium:\n${context}`);
      const errors = reports.filter((r) => r.kind === "error").map((r) => r.message);
      assert.deepEqual(errors, [], `errors nobody handled in the page:\n${context}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(profile, { recursive: true });
    }
  },
});

function indent(text: string): string {
  return text.trimEnd().replace(/^/gm, "      ");
}
