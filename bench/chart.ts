/**
 * Draws `bench/results/chart.svg` from `bench/results/latest.json` (written by `bench/run.ts`):
 * a horizontal bar per library row, its speed-up against `postMessage` in the same run, grouped
 * by workload, on a log scale, with the workload's target marked, and Rust's `std::sync::mpsc`
 * `channel()` on the same workload in grey. Hand-written SVG, no
 * dependencies.
 *
 * Usage: `deno run --allow-read --allow-write bench/chart.ts [latest.json] [chart.svg]`
 *
 * @module
 */
import type { Results, Row } from "./run.ts";
import { WORKLOADS } from "./workloads.ts";

/** Each workload's target as a speed-up against postMessage (W4: 1/20 of its round trip). */
const TARGETS: Record<string, number> = { W1: 30, W2: 15, W3: 12, W4: 20, W5: 3 };

const ROW_H = 18;
const GAP = 14;
const LABEL_W = 290;
const PLOT_W = 460;
const RIGHT = 70;
const TOP = 56;
const MIN = 0.5;

function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Renders the chart of `results` as an SVG document. */
export function render(results: Results): string {
  // This library's rows, and Rust's std::sync::mpsc channel() as the reference of each workload.
  const rust = (r: Row) => r.impl === "Rust std::sync::mpsc channel()";
  const rows = results.rows.filter((r) =>
    (r.impl.startsWith("mpsc") || rust(r)) && r.ratio !== null
  );
  const groups = new Map<string, Row[]>();
  for (const r of rows) groups.set(r.workload, [...(groups.get(r.workload) ?? []), r]);
  const max = Math.max(100, ...rows.map((r) => r.ratio!)) * 1.1;
  const x = (ratio: number) =>
    LABEL_W + PLOT_W * Math.log10(Math.max(ratio, MIN) / MIN) / Math.log10(max / MIN);
  const height = TOP + [...groups.values()].reduce((h, g) => h + (g.length + 1) * ROW_H + GAP, 0) +
    30;
  const width = LABEL_W + PLOT_W + RIGHT;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">@wasmring/mpsc: speed-up vs ` +
      `worker.postMessage (same run, log scale)</text>`,
    `<text x="10" y="34" fill="#555">${
      escape(
        `${results.machine.cpu}, ${results.machine.cores} cores; Deno ${results.deno}; ` +
          `commit ${results.commit}${results.dirty ? "+" : ""}; ${results.date.slice(0, 10)}` +
          `${results.quick ? " (quick)" : ""}`,
      )
    }</text>`,
  );
  // Grid.
  const plotBottom = height - 30;
  for (const tick of [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500]) {
    if (tick > max) break;
    const tx = x(tick).toFixed(1);
    out.push(
      `<line x1="${tx}" y1="${TOP - 6}" x2="${tx}" y2="${plotBottom}" stroke="${
        tick === 1 ? "#333" : "#ddd"
      }"/>`,
      `<text x="${tx}" y="${plotBottom + 14}" text-anchor="middle" fill="#555">${tick}×</text>`,
    );
  }
  let y = TOP;
  for (const [id, group] of groups) {
    const workload = WORKLOADS.find((w) => w.id === id);
    out.push(
      `<text x="10" y="${y + 12}" font-weight="bold">${
        escape(`${id}: ${workload?.title ?? ""}`.slice(0, 64))
      }</text>`,
    );
    const target = TARGETS[id];
    const groupTop = y + ROW_H;
    y += ROW_H;
    for (const r of group) {
      const w = Math.max(1, x(r.ratio!) - x(MIN));
      const met = target !== undefined && r.ratio! >= target;
      out.push(
        `<text x="${LABEL_W - 6}" y="${y + 12}" text-anchor="end">${
          escape(r.impl.replace(/^mpsc /, ""))
        }</text>`,
        `<rect x="${x(MIN)}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW_H - 6}" fill="${
          rust(r) ? "#9e9e9e" : met ? "#2e7d32" : "#1565c0"
        }"/>`,
        `<text x="${(x(MIN) + w + 4).toFixed(1)}" y="${y + 12}">${
          r.ratio!.toFixed(r.ratio! < 10 ? 2 : 1)
        }×</text>`,
      );
      y += ROW_H;
    }
    if (target !== undefined) {
      const tx = x(target).toFixed(1);
      out.push(
        `<line x1="${tx}" y1="${groupTop}" x2="${tx}" y2="${y}" stroke="#c62828" ` +
          `stroke-width="2" stroke-dasharray="4 3"/>`,
        `<text x="${tx}" y="${
          groupTop - 3
        }" text-anchor="middle" fill="#c62828">target ${target}×</text>`,
      );
    }
    y += GAP;
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}

if (import.meta.main) {
  const input = Deno.args[0] ?? new URL("./results/latest.json", import.meta.url).pathname;
  const output = Deno.args[1] ?? new URL("./results/chart.svg", import.meta.url).pathname;
  const results = JSON.parse(await Deno.readTextFile(input)) as Results;
  await Deno.writeTextFile(output, render(results));
  console.log(`wrote ${output}`);
}
