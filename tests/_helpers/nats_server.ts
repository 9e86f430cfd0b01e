/**
 * A real `nats-server` for the NATS tests: JetStream on, listening on a free port of 127.0.0.1
 * only, storing in a temporary directory; stopped (and the directory removed) by `stop()`.
 * `restart()` stops it and starts it again on the same port and directory (its streams survive).
 *
 * @module
 */
import { findExecutable } from "./executables.ts";

/** The `nats-server` binary (Debian installs it in /usr/sbin), or undefined. */
export const NATS_SERVER: string | undefined = findExecutable(["nats-server"], [
  "/usr/sbin",
  "/usr/local/bin",
  "/usr/local/sbin",
]);

/**
 * Test options that skip a NATS test where no server can run, or fail it in CI (`.ci/run`
 * installs nats-server: there a missing one is an error, not a reason to skip).
 */
export function natsTest(name: string): { name: string; ignore: boolean } {
  const missing = NATS_SERVER === undefined;
  return {
    name: missing && Deno.env.get("CI") === undefined
      ? `${name} (skipped: no nats-server on PATH or in /usr/sbin; apt-get install nats-server)`
      : name,
    ignore: missing && Deno.env.get("CI") === undefined,
  };
}

/** A running nats-server. */
export class NatsServer {
  readonly port: number;
  readonly dir: string;
  #process: Deno.ChildProcess | null = null;
  #log: string[] = [];

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  /** `"127.0.0.1:<port>"`, for `servers`. */
  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Starts a server on a free port in a new temporary directory. */
  static async start(): Promise<NatsServer> {
    if (NATS_SERVER === undefined) {
      throw new Error("nats-server is not installed (apt-get install nats-server)");
    }
    const dir = await Deno.makeTempDir({ prefix: "mpsc_nats_" });
    const server = new NatsServer(freePort(), dir);
    await server.#spawn();
    return server;
  }

  async #spawn(): Promise<void> {
    this.#process = new Deno.Command(NATS_SERVER!, {
      args: ["-js", "-a", "127.0.0.1", "-p", String(this.port), "-sd", this.dir],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const ready = this.#watch(this.#process);
    const exited = this.#process.status.then((s) => {
      throw new Error(`nats-server exited (${s.code}) at start:\n${this.#log.join("")}`);
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`nats-server not ready within 20 s:\n${this.#log.join("")}`)),
        20_000,
      );
    });
    try {
      await Promise.race([ready, exited, late]);
    } finally {
      clearTimeout(timer);
      exited.catch(() => {});
    }
  }

  /** Reads the server's log; resolves once it says it is ready. */
  #watch(process: Deno.ChildProcess): Promise<void> {
    return new Promise((resolve) => {
      (async () => {
        const decoder = new TextDecoder();
        for await (const chunk of process.stderr) {
          this.#log.push(decoder.decode(chunk, { stream: true }));
          if (this.#log.join("").includes("Server is ready")) resolve();
        }
      })().catch(() => {});
    });
  }

  /** Stops the server (SIGTERM; SIGKILL if it lingers) and waits for it to exit. */
  async kill(): Promise<void> {
    const process = this.#process;
    if (process === null) return;
    this.#process = null;
    this.#log = [];
    try {
      process.kill("SIGTERM");
    } catch { /* exited */ }
    const timer = setTimeout(() => {
      try {
        process.kill("SIGKILL");
      } catch { /* exited */ }
    }, 5000);
    await process.status;
    clearTimeout(timer);
  }

  /** Stops the server and starts it again on the same port and directory. */
  async restart(downMs = 0): Promise<void> {
    await this.kill();
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.#spawn();
  }

  /** Stops the server and removes its directory. */
  async stop(): Promise<void> {
    await this.kill();
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** A TCP port of 127.0.0.1 free now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}
