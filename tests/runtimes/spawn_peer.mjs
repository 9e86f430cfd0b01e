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
    case "upper":
      for (const line of data.input) data.output.sendSync(line.toUpperCase());
      return;
    case "block":
      Atomics.store(data.words, 0, 1);
      data.rx.recvSync(); // until terminated
      throw new Error("unreachable");
    case "throw":
      data.tx.sendSync(1);
      setTimeout(() => {
        throw new Error("the worker fails");
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
