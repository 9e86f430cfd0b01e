// Takes messages and does nothing with them (bench/spawn_bench.ts).
self.onmessage = () => {};
