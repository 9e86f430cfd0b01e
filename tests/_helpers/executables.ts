/**
 * Finds the runtimes the cross-runtime tests drive (node, bun, chromium).
 *
 * @module
 */

/** The first executable file named one of `names` in PATH's directories, then in `extra`. */
export function findExecutable(names: string[], extra: string[] = []): string | undefined {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "");
  for (const name of names) {
    for (const dir of [...dirs, ...extra]) {
      const path = `${dir}/${name}`;
      try {
        const info = Deno.statSync(path);
        if (info.isFile && info.mode !== null && (info.mode & 0o111) !== 0) return path;
      } catch { /* not here */ }
    }
  }
  return undefined;
}
