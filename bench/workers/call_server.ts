// A server of bench/request_reply.ts: serves calls on a channel with `serve` (mode "serve") or a
// blocking loop ("sync"), or answers postMessage requests with their correlation id ("post").
import { type Call, type Receiver, serve } from "@wasmring/mpsc";

export default async function (
  { mode, requests }: { mode: string; requests?: Receiver<Call<number, number>> },
): Promise<number> {
  if (mode === "post") {
    // { id, n } → { id, value }, until { stop: true }.
    let answered = 0;
    return await new Promise<number>((resolve) => {
      self.onmessage = (e: MessageEvent<{ id: number; n: number; stop?: boolean }>) => {
        if (e.data.stop) return resolve(answered);
        self.postMessage({ id: e.data.id, value: e.data.n + 1 });
        answered++;
      };
    });
  }
  if (mode === "serve") return await serve(requests!, (n) => n + 1);
  let served = 0;
  for (const { request, reply } of requests!) {
    reply.send(request + 1);
    served++;
  }
  return served;
}
