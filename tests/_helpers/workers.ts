/**
 * The next message a test's worker posts, or its error: every test that waits for a worker's
 * report uses this.
 * @param label Names the worker in the error, e.g. "producer 3".
 */
export function nextReply<T>(worker: Worker, label = "worker"): Promise<T> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (e) => resolve(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      reject(new Error(`${label}: ${e.message}`));
    };
  });
}
