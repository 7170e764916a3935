//! JSON, the store's record encoding, against two self-describing binary encodings
//! (MessagePack with named fields, CBOR) on the records of a real data directory: bytes per
//! record and time to encode and to decode each kind. The figures behind BENCHMARKS.md,
//! "Record encoding".
//!
//! ```sh
//! cargo run --release -p porchlight -- simulate --days 3 --members 1000 --data /tmp/codec-data
//! cargo run --release -p porchlight-store --example codec -- /tmp/codec-data
//! ```
//!
//! Only self-describing formats are candidates: the records skip absent fields
//! (`skip_serializing_if`), which positional formats (bincode, postcard) cannot read back.

use std::hint::black_box;
use std::time::{Duration, Instant};

use porchlight_core::checkin::Checkin;
use porchlight_core::engine::{Event, MemberState, ReplyContext};
use porchlight_core::model::Person;
use porchlight_store::OutboxEntry;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Every figure is the best of this many timed passes over all records of a kind.
const PASSES: usize = 7;

struct Row {
    kind: &'static str,
    records: usize,
    bytes: [usize; 3],
    encode: [Duration; 3],
    decode: [Duration; 3],
}

fn best(mut f: impl FnMut()) -> Duration {
    (0..PASSES)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn measure<T: Serialize + DeserializeOwned>(
    kind: &'static str,
    raw: &[Vec<u8>],
) -> Result<Row, String> {
    let values: Vec<T> = raw
        .iter()
        .map(|b| serde_json::from_slice(b).map_err(|e| format!("{kind}: {e}")))
        .collect::<Result<_, _>>()?;
    let json: Vec<Vec<u8>> = values
        .iter()
        .map(|v| serde_json::to_vec(v).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let msgpack: Vec<Vec<u8>> = values
        .iter()
        .map(|v| rmp_serde::to_vec_named(v).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let cbor: Vec<Vec<u8>> = values
        .iter()
        .map(|v| {
            let mut out = Vec::new();
            ciborium::into_writer(v, &mut out).map(|()| out)
        })
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    // Each encoding must read back what it wrote, or its figures mean nothing.
    for (i, v) in values.iter().enumerate() {
        let from_mp: T = rmp_serde::from_slice(&msgpack[i]).map_err(|e| format!("{kind}: {e}"))?;
        let from_cbor: T =
            ciborium::from_reader(&cbor[i][..]).map_err(|e| format!("{kind}: {e}"))?;
        let again = |x: &T| serde_json::to_vec(x).unwrap_or_default();
        if again(&from_mp) != json[i] || again(&from_cbor) != json[i] || again(v) != json[i] {
            return Err(format!("{kind}: record {i} does not survive a round trip"));
        }
    }
    let sum = |e: &[Vec<u8>]| e.iter().map(Vec::len).sum::<usize>();
    Ok(Row {
        kind,
        records: values.len(),
        bytes: [sum(&json), sum(&msgpack), sum(&cbor)],
        encode: [
            best(|| {
                for v in &values {
                    black_box(serde_json::to_vec(black_box(v)).ok());
                }
            }),
            best(|| {
                for v in &values {
                    black_box(rmp_serde::to_vec_named(black_box(v)).ok());
                }
            }),
            best(|| {
                for v in &values {
                    let mut out = Vec::with_capacity(256);
                    black_box(ciborium::into_writer(black_box(v), &mut out).ok());
                    black_box(out);
                }
            }),
        ],
        decode: [
            best(|| {
                for b in &json {
                    black_box(serde_json::from_slice::<T>(black_box(b)).ok());
                }
            }),
            best(|| {
                for b in &msgpack {
                    black_box(rmp_serde::from_slice::<T>(black_box(b)).ok());
                }
            }),
            best(|| {
                for b in &cbor {
                    black_box(ciborium::from_reader::<T, _>(black_box(&b[..])).ok());
                }
            }),
        ],
    })
}

fn main() -> Result<(), String> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: codec DATA_DIR (a directory written by `porchlight simulate --data`)")?;
    let db = sled::open(&dir).map_err(|e| format!("{dir}: {e}"))?;
    let tree = db.open_tree("porchlight").map_err(|e| e.to_string())?;
    let records = |prefix: u8| -> Result<Vec<Vec<u8>>, String> {
        tree.scan_prefix([prefix])
            .values()
            .map(|v| v.map(|v| v.to_vec()).map_err(|e| e.to_string()))
            .collect()
    };
    let rows = [
        measure::<MemberState>("member state", &records(b'm')?)?,
        measure::<Event>("audit event", &records(b'a')?)?,
        measure::<Checkin>("closed check-in", &records(b'k')?)?,
        measure::<OutboxEntry>("queued message", &records(b'o')?)?,
        measure::<OutboxEntry>("sent message", &records(b's')?)?,
        measure::<Vec<ReplyContext>>("reply contexts", &records(b'c')?)?,
        measure::<Person>("person", &records(b'P')?)?,
    ];
    println!("records of {dir}, best of {PASSES} passes; JSON is the baseline");
    println!(
        "{:<16} {:>8} | {:>9} {:>9} {:>9} | {:>21} {:>21} {:>21} | {:>21} {:>21} {:>21}",
        "kind",
        "records",
        "JSON B",
        "MsgPack B",
        "CBOR B",
        "JSON encode",
        "MsgPack encode",
        "CBOR encode",
        "JSON decode",
        "MsgPack decode",
        "CBOR decode"
    );
    let per = |d: Duration, n: usize| d.as_secs_f64() * 1e9 / n.max(1) as f64;
    let (mut enc_json, mut dec_json) = (Duration::ZERO, Duration::ZERO);
    let mut all = [(Duration::ZERO, Duration::ZERO); 3];
    for r in rows.iter().filter(|r| r.records > 0) {
        let n = r.records;
        let cell = |d: Duration, base: Duration| {
            format!(
                "{:>8.0} ns ({:>4.2}x)",
                per(d, n),
                d.as_secs_f64() / base.as_secs_f64().max(1e-12)
            )
        };
        println!(
            "{:<16} {:>8} | {:>9} {:>9} {:>9} | {:>21} {:>21} {:>21} | {:>21} {:>21} {:>21}",
            r.kind,
            n,
            r.bytes[0] / n.max(1),
            r.bytes[1] / n.max(1),
            r.bytes[2] / n.max(1),
            cell(r.encode[0], r.encode[0]),
            cell(r.encode[1], r.encode[0]),
            cell(r.encode[2], r.encode[0]),
            cell(r.decode[0], r.decode[0]),
            cell(r.decode[1], r.decode[0]),
            cell(r.decode[2], r.decode[0]),
        );
        enc_json += r.encode[0];
        dec_json += r.decode[0];
        for (i, a) in all.iter_mut().enumerate() {
            a.0 += r.encode[i];
            a.1 += r.decode[i];
        }
    }
    for (name, (e, d)) in ["JSON", "MessagePack", "CBOR"].iter().zip(all) {
        println!(
            "all kinds, {name:<11}: encode {:.2}x, decode {:.2}x of JSON's time",
            e.as_secs_f64() / enc_json.as_secs_f64().max(1e-12),
            d.as_secs_f64() / dec_json.as_secs_f64().max(1e-12)
        );
    }
    Ok(())
}
