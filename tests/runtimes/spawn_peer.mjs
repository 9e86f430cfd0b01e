// The worker module of tests/runtimes/spawn.mjs: `mode` picks what it does.
export default async function (data) {
  switch (data.mode) {
    case "hello":
      data.tx.sendSync("Hello from the worker!");
      return 42;
    case "produce":
      for (let seq = 1; seq <= 5; seq++) {
        data.tx.sendSync({ name: data.name, seq });
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
      }
      return;
    case "pool": {
      // A worker of a pool sharing one queue (its own clone of the receiver).
      let count = 0;
      for (const n of data.tasks) {
        data.out.sendSync([data.id, n]);
        count++;
      }
      data.out.close();
      return count;
    }
    case "select": {
      // Waits on two receivers at once until both are disconnected; forwards what comes, the
      // rest of a source in one batch.
      const { select, selectSync } = await import(data.lib); // the bundle, as in the main thread
      let open = [data.a, data.b];
      while (open.length > 0) {
        const r = data.sync ? selectSync(open) : await select(open);
        if (r.state === "disconnected") {
          open = open.filter((_, i) => i !== r.index);
          continue;
        }
        data.out.sendSync(r.value);
        const more = open[r.index].tryRecvMany(10);
        if (more.state === "ok") data.out.sendManySync(more.values);
      }
      data.out.close();
      return "done";
    }
    case "upper":
      for (const line of data.input) data.output.sendSync(line.toUpperCase());
      return;
    case "block":
      Atomics.store(data.words, 0, 1);
      data.rx.recvSync(); // until terminated
      throw new Error("unreachable");
    case "throw": // an error nobody handles: thrown from a timer, or a promise's rejection
      data.tx.sendSync(1);
      // Bun 1.4.5 drops a rejection nobody handles if the worker's event loop has nothing left
      // to do (the worker exits with code 0): something must keep it alive.
      if (data.reject) setInterval(() => {}, 1000);
      setTimeout(() => {
        if (data.reject) void Promise.reject(new TypeError("the worker rejects"));
        else throw new RangeError("the worker fails");
      }, 1);
      return await new Promise(() => {});
    case "exit":
      data.tx.sendSync(1);
      process.exit(0); // ends the worker without closing its sender
      return;
    case "adopt": {
      // Listens before its first await: messages posted early are dispatched once the function
      // has been called (on Node, parentPort queues them anyway).
      const message = globalThis.addEventListener
        ? new Promise((resolve) => globalThis.addEventListener("message", (e) => resolve(e.data)))
        : import("node:worker_threads").then(({ parentPort }) =>
          new Promise((resolve) => parentPort.once("message", resolve))
        );
      const { Receiver } = await import(data.lib);
      const rx = Receiver.from((await message).a[0].b.rx);
      Atomics.store(data.words, 0, 1);
      return await new Promise(() => void rx);
    }
  }
  throw new Error(`unknown mode ${data.mode}`);
}
