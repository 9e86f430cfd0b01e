// The worker of examples/select.ts: handles readings until shutdown says stop.
import { type Receiver, selectSync } from "@wasmring/mpsc";

/** What the monitor reports when it stops. */
export interface Report {
  handled: number;
  highest: number;
  why: string;
}

export default function (
  { readings, shutdown }: { readings: Receiver<number>; shutdown: Receiver<string> },
): Report {
  let handled = 0;
  let highest = -Infinity;
  for (;;) {
    // Sleeps until either has something; shutdown first when both do.
    const r = selectSync([shutdown, readings], { biased: true });
    if (r.index === 0) {
      return { handled, highest, why: r.state === "ok" ? r.value : "shutdown channel closed" };
    }
    if (r.state === "disconnected") return { handled, highest, why: "no more readings" };
    handled++;
    highest = Math.max(highest, r.value);
  }
}
