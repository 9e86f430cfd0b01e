// Handles and ends from another copy or version of the library (issue 12): refused by name,
// never adopted into memory laid out differently, never copied as a plain object.
import assert from "node:assert/strict";
import { channel, Receiver, Sender, spawn } from "../mod.ts";
import { VERSION } from "../src/_version.ts";

Deno.test("the version handles carry is deno.json's", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.equal(VERSION, config.version);
  const [tx] = channel<number>();
  assert.equal(tx.transfer().version, VERSION);
});

Deno.test("a handle from another version is a TypeError naming both versions", () => {
  const [tx, rx] = channel<number>();
  const handle = rx.transfer();
  assert.throws(
    () => Receiver.from({ ...handle, version: "9.9.9" }),
    (e) => e instanceof TypeError && e.message.includes("9.9.9") && e.message.includes(VERSION),
  );
  const { version: _, ...older } = handle;
  assert.throws(() => Receiver.from(older as typeof handle), /older than 0\.1\.0/);
  assert.throws(
    () => Receiver.from({ ...handle, protocol: "@wasmring/mpsc@2" as "@wasmring/mpsc@1" }),
    /every thread must use the same version/,
  );
  // Nothing was adopted: the handle still works.
  const adopted = Receiver.from(handle);
  tx.sendSync(1);
  assert.equal(adopted.recvSync(), 1);
});

/** Stands in for an end made by another copy of the library (a bundle beside the source). */
class ForeignSender {
  get [Symbol.for("@wasmring/mpsc/end")]() {
    return "0.0.1";
  }
}

Deno.test("an end of another copy in spawn data is a TypeError, not a plain object", () => {
  assert.throws(
    () => spawn(new URL("./spawn/hello.ts", import.meta.url), { tx: new ForeignSender() }),
    (e) => e instanceof TypeError && /another copy of @wasmring\/mpsc \(0\.0\.1/.test(e.message),
  );
});

Deno.test("an end of another copy inside a message is a DataCloneError", () => {
  const [tx] = channel<unknown>();
  assert.throws(
    () => tx.sendSync({ inner: new ForeignSender() }),
    (e) => e instanceof DOMException && e.name === "DataCloneError",
  );
});

Deno.test("ends of a bundled copy beside the source: recognised, refused by name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/mpsc.js`;
    const bundle = new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--quiet", new URL("../mod.ts", import.meta.url).pathname, "-o", out],
    });
    assert.ok((await bundle.output()).success, "deno bundle");
    const other = await import(`file://${out}`);
    const [tx] = other.channel();
    assert.ok(!(tx instanceof Sender), "two copies");
    assert.throws(
      () => spawn(new URL("./spawn/hello.ts", import.meta.url), { tx }),
      /another copy of @wasmring\/mpsc/,
    );
    const [mine] = channel<unknown>();
    assert.throws(() => mine.sendSync([tx]), (e) => e instanceof DOMException);
    // A handle of the same version from the other copy is adopted: the memory is laid out alike.
    const [otx, orx] = other.channel();
    const adopted = Sender.from<number>(otx.transfer());
    adopted.sendSync(7);
    assert.equal(orx.recvSync(), 7);
    tx.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
