// The worker of smoke.mjs: adopts the sender posted to it, sends `count` numbers, closes it.
import { parentPort, workerData } from "node:worker_threads";
import { pathToFileURL } from "node:url";

const { Sender } = await import(pathToFileURL(workerData.bundle).href);

parentPort.once("message", (handle) => {
  const tx = Sender.from(handle);
  for (let i = 0; i < workerData.count; i++) tx.sendSync(i);
  tx.close();
});
