/// <reference lib="deno.worker" />
// A spawned worker that passes a handle it receives on to another on a MessagePort, unadopted;
// then, if given `words`, stays until the other says it holds the end (words[0] = 1): the library
// cannot see where a handle posted on a port goes, so it stays with this worker until adopted.
export default function (
  { port, words }: { port: MessagePort; words?: Int32Array },
): Promise<string> {
  return new Promise((resolve) => {
    self.onmessage = async (e) => {
      port.postMessage(e.data);
      port.close();
      while (words && Atomics.load(words, 0) === 0) {
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      resolve("forwarded");
    };
  });
}
