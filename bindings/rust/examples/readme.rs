// SPDX-License-Identifier: LGPL-2.1-or-later
// README.md's example ("Use it from Rust"), run by selftests/rust_test.sh.

fn main() -> std::io::Result<()> {
    let (tx, rx) = kchan::channel::<u64>(0)?; // unbuffered: make(chan uint64)
    let producer = std::thread::spawn(move || {
        for v in 1..=3 {
            tx.send(v).unwrap();
        }
    }); // tx dropped: its last sender gone, the channel is closed
    for v in &rx {
        println!("got {}", v);
    }
    producer.join().unwrap();
    Ok(())
}
