/// <reference lib="deno.worker" />
// A worker module that closes its worker while it is still loading.
self.close();
export default function (): string {
  return "unreachable";
}
