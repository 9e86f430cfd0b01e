//! The baseline of `bench/run.ts`: Rust's `std::sync::mpsc` on the same workloads as the library
//! (`bench/workloads.ts`), in the same shape: producer threads started once, each pass started
//! by a signal, the main thread receiving and summing an id per message, the sum checked.
//!
//! Usage: `mpsc-baseline <W1|W2|W3|W4|W5> <unbounded|BOUND> <count> <runs>`
//! Prints one JSON object: `{"workload":…,"bound":…,"count":…,"runs":[seconds, …]}`.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread;
use std::time::Instant;

const BYTES_64K: usize = 64 * 1024;

/// `{ id: i, body: "hello world" }`: a `String` is allocated per message, as a decoded JS
/// object allocates its string.
struct Object {
    id: u64,
    #[allow(dead_code)]
    body: String,
}

/// Either kind of sender, so one producer loop serves `channel()` and `sync_channel(n)`.
enum Tx<T> {
    Unbounded(Sender<T>),
    Bounded(SyncSender<T>),
}

impl<T> Clone for Tx<T> {
    fn clone(&self) -> Self {
        match self {
            Tx::Unbounded(s) => Tx::Unbounded(s.clone()),
            Tx::Bounded(s) => Tx::Bounded(s.clone()),
        }
    }
}

impl<T> Tx<T> {
    #[inline]
    fn send(&self, v: T) {
        match self {
            Tx::Unbounded(s) => s.send(v).unwrap(),
            Tx::Bounded(s) => s.send(v).unwrap(),
        }
    }
}

fn make<T>(bound: Option<usize>) -> (Tx<T>, Receiver<T>) {
    match bound {
        None => {
            let (tx, rx) = mpsc::channel();
            (Tx::Unbounded(tx), rx)
        }
        Some(n) => {
            let (tx, rx) = mpsc::sync_channel(n);
            (Tx::Bounded(tx), rx)
        }
    }
}

/// `producers` threads each send `make(i)` for i in 0..count on every pass; the main thread
/// receives them all and sums `id(&msg)`. Returns the seconds of each pass.
fn stream<T: Send + 'static>(
    producers: usize,
    bound: Option<usize>,
    count: u64,
    runs: usize,
    item: fn(u64, &mut Vec<u8>) -> T,
    id: fn(&T) -> u64,
) -> Vec<f64> {
    let (tx, rx) = make::<T>(bound);
    let mut starts = Vec::new();
    let mut handles = Vec::new();
    for _ in 0..producers {
        let (go_tx, go_rx) = mpsc::channel::<u64>();
        starts.push(go_tx);
        let tx = tx.clone();
        handles.push(thread::spawn(move || {
            let mut scratch = vec![0u8; BYTES_64K];
            while let Ok(n) = go_rx.recv() {
                for i in 0..n {
                    tx.send(item(i, &mut scratch));
                }
            }
        }));
    }
    drop(tx);
    let pass = |n: u64| -> f64 {
        let total = n * producers as u64;
        let t0 = Instant::now();
        for go in &starts {
            go.send(n).unwrap();
        }
        let mut sum = 0u64;
        for _ in 0..total {
            sum = sum.wrapping_add(id(&rx.recv().unwrap()));
        }
        let seconds = t0.elapsed().as_secs_f64();
        let expected = producers as u64 * n * (n.saturating_sub(1)) / 2;
        assert_eq!(sum, expected, "wrong checksum");
        seconds
    };
    pass((count / 10).max(2)); // warm-up, as bench/run.ts does
    let out = (0..runs).map(|_| pass(count)).collect();
    drop(starts);
    for h in handles {
        h.join().unwrap();
    }
    out
}

/// W4: the main thread and one worker thread bounce a number `count` times.
fn ping_pong(bound: Option<usize>, count: u64, runs: usize) -> Vec<f64> {
    let (ping_tx, ping_rx) = make::<u64>(bound);
    let (pong_tx, pong_rx) = make::<u64>(bound);
    let echo = thread::spawn(move || {
        while let Ok(v) = ping_rx.recv() {
            pong_tx.send(v);
        }
    });
    let pass = |n: u64| -> f64 {
        let t0 = Instant::now();
        let mut sum = 0u64;
        for i in 0..n {
            ping_tx.send(i);
            sum = sum.wrapping_add(pong_rx.recv().unwrap());
        }
        let seconds = t0.elapsed().as_secs_f64();
        assert_eq!(sum, n * (n.saturating_sub(1)) / 2, "wrong checksum");
        seconds
    };
    pass((count / 10).max(2));
    let out = (0..runs).map(|_| pass(count)).collect();
    drop(ping_tx);
    echo.join().unwrap();
    out
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: mpsc-baseline <W1|W2|W3|W4|W5> <unbounded|BOUND> <count> <runs>");
        std::process::exit(2);
    }
    let workload = args[1].as_str();
    let bound = match args[2].as_str() {
        "unbounded" => None,
        n => Some(n.parse::<usize>().expect("bound: a number or 'unbounded'")),
    };
    let count: u64 = args[3].parse().expect("count: a number");
    let runs: usize = args[4].parse().expect("runs: a number");
    let number = |i: u64, _: &mut Vec<u8>| i as f64;
    let number_id = |v: &f64| *v as u64;
    let seconds = match workload {
        "W1" => stream(1, bound, count, runs, number, number_id),
        "W3" => stream(4, bound, count, runs, number, number_id),
        "W2" => stream(
            1,
            bound,
            count,
            runs,
            |i, _| Object { id: i, body: String::from("hello world") },
            |o: &Object| o.id,
        ),
        // A copy of the sender's buffer per message, as every JS implementation measured makes.
        "W5" => stream(
            1,
            bound,
            count,
            runs,
            |i, scratch: &mut Vec<u8>| {
                scratch[..4].copy_from_slice(&(i as u32).to_le_bytes());
                scratch.clone()
            },
            |b: &Vec<u8>| {
                assert_eq!(b.len(), BYTES_64K);
                u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64
            },
        ),
        "W4" => ping_pong(bound, count, runs),
        other => {
            eprintln!("unknown workload {other}");
            std::process::exit(2);
        }
    };
    let runs: Vec<String> = seconds.iter().map(|s| format!("{s}")).collect();
    println!(
        "{{\"workload\":\"{workload}\",\"bound\":\"{}\",\"count\":{count},\"runs\":[{}]}}",
        args[2],
        runs.join(",")
    );
}
