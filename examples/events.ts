// deno run --allow-read examples/events.ts
//
// An event loop: events are messages of a tagged union type, handled one at a time with
// `for await`, which never blocks the thread. A worker plays the part of an input device; a
// timer on the main thread sends an event of its own into the same channel (possible because
// the loop does not block the event loop). The loop ends on a "quit" event, or when every
// sender is closed.
import { channel, spawn } from "@wasmring/mpsc";

/** Every kind of event, told apart by `type`. */
type AppEvent =
  | { type: "key"; key: string }
  | { type: "click"; x: number; y: number }
  | { type: "resize"; width: number; height: number }
  | { type: "timer"; name: string }
  | { type: "quit" };

const [tx, rx] = channel<AppEvent>();

// The input device: a worker with its own sender.
spawn(new URL("./workers/input_worker.ts", import.meta.url), { tx: tx.clone() });

// A timer sends one event on the main thread's sender, then closes it. (Where it falls among
// the worker's events depends on timing.)
setTimeout(() => {
  tx.sendSync({ type: "timer", name: "autosave" });
  tx.close();
}, 50);

// The application state that the events change.
let text = "";
let clicks = 0;
let size = "unknown";
let ending = "every sender closed";

loop: for await (const event of rx) {
  switch (event.type) {
    case "key":
      text += event.key;
      console.log(`key ${JSON.stringify(event.key)}: text is now ${JSON.stringify(text)}`);
      break;
    case "click":
      clicks++;
      console.log(`click at (${event.x}, ${event.y})`);
      break;
    case "resize":
      size = `${event.width}x${event.height}`;
      console.log(`resize to ${size}`);
      break;
    case "timer":
      console.log(`timer ${JSON.stringify(event.name)} fired`);
      break;
    case "quit":
      ending = "quit event";
      console.log("quit");
      break loop;
  }
}
// Breaking out of `for await` leaves the receiver open: close it, so that a sender that is
// still sending gets a SendError instead of filling a buffer nobody reads.
rx.close();

console.log(
  `typed ${JSON.stringify(text)}, ${clicks} click(s), window ${size}; ended by ${ending}`,
);
