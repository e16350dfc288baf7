//! The hostile input catalogue: malformed, oversized, forged and odd requests against the real
//! listener, each with its exact answer, and afterwards nothing stored that should not be.
//!
//! Requests go over raw TCP so that what is sent is exactly what is written here (no client
//! fixing up lengths, paths or encodings).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// The body read timeout used here, short so the slow cases take about a second.
const BODY_TIMEOUT: Duration = Duration::from_millis(1000);

/// What the catalogue expects to see in the store after a case.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Effect {
    /// Refused by the webhook handler: logged in the delivery log as `rejected`.
    Rejected,
    /// A replayed id with other content: logged as `conflict`.
    Conflict,
    /// Refused by HTTP parsing or routing before the handler: nothing logged.
    NotLogged,
    /// Valid (if odd): stored, with this many new changes.
    Stored(i64),
}

struct Case {
    name: &'static str,
    request: Vec<u8>,
    status: u16,
    /// The `error` code of the answer; `None` for answers made by the HTTP layer.
    code: Option<&'static str>,
    effect: Effect,
}

fn case(
    name: &'static str,
    request: Vec<u8>,
    status: u16,
    code: Option<&'static str>,
    effect: Effect,
) -> Case {
    Case {
        name,
        request,
        status,
        code,
        effect,
    }
}

/// A raw HTTP/1.1 request; `Content-Length` is added unless a `transfer-encoding` or
/// `content-length` header is given.
fn raw(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n");
    let mut explicit_length = false;
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("transfer-encoding")
            || name.eq_ignore_ascii_case("content-length")
        {
            explicit_length = true;
        }
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !explicit_length {
        out.push_str(&format!("content-length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

const JSON: (&str, &str) = ("content-type", "application/json");

fn post(body: impl AsRef<[u8]>) -> Vec<u8> {
    raw("POST", "/webhooks/dreamclass", &[JSON], body.as_ref())
}

fn post_json(body: &Value) -> Vec<u8> {
    post(serde_json::to_vec(body).unwrap())
}

/// A valid signed ATTENDANCE_CREATED for a record in the "must never be stored" range.
fn forgeable() -> Value {
    created(1000, 1)
}

/// `forgeable()` with one field changed (the signature stays valid for its id).
fn with(path: &[&str], value: Value) -> Value {
    let mut body = forgeable();
    let mut target = &mut body;
    for key in &path[..path.len() - 1] {
        target = target.get_mut(*key).unwrap();
    }
    target[path[path.len() - 1]] = value;
    body
}

fn without(path: &[&str]) -> Value {
    let mut body = forgeable();
    let mut target = &mut body;
    for key in &path[..path.len() - 1] {
        target = target.get_mut(*key).unwrap();
    }
    target.as_object_mut().unwrap().remove(path[path.len() - 1]);
    body
}

/// Sends `request` on a new connection and reads until the server closes it.
async fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // A server may answer before reading everything (413); a failed write is not the test.
    let _ = stream.write_all(request).await;
    read_to_close(&mut stream).await
}

async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server closed the connection within 10 s");
    answer
}

/// The status and JSON body of each response in `bytes` (several when pipelined).
fn responses(mut bytes: &[u8]) -> Vec<(u16, Value)> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let head_end = find(bytes, b"\r\n\r\n").expect("a complete response head") + 4;
        let head = String::from_utf8_lossy(&bytes[..head_end]).to_string();
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("a status line: {head}"));
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(bytes.len() - head_end);
        let body = &bytes[head_end..head_end + length];
        out.push((status, serde_json::from_slice(body).unwrap_or(Value::Null)));
        bytes = &bytes[head_end + length..];
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A signed delivery whose `data` is `depth` nested arrays.
fn nested(depth: usize) -> Vec<u8> {
    let id = new_id();
    post(format!(
        r#"{{"id":"{id}","signature":"{}","data":{}1{}}}"#,
        key().sign(&id),
        "[".repeat(depth),
        "]".repeat(depth)
    ))
}

fn catalogue() -> Vec<Case> {
    use Effect::*;
    let mut cases = Vec::new();
    let mut add = |c: Case| cases.push(c);

    // Not JSON, or not the JSON we take.
    add(case(
        "broken JSON",
        post(br#"{"id":"#),
        400,
        Some("invalid_json"),
        Rejected,
    ));
    let mut trailing = serde_json::to_vec(&forgeable()).unwrap();
    trailing.extend_from_slice(b"}x");
    add(case(
        "trailing garbage",
        post(trailing),
        400,
        Some("invalid_json"),
        Rejected,
    ));
    add(case(
        "empty body",
        post(b""),
        400,
        Some("invalid_json"),
        Rejected,
    ));
    add(case(
        "only white space",
        post(b" \r\n\t "),
        400,
        Some("invalid_json"),
        Rejected,
    ));
    add(case(
        "array body",
        post_json(&json!([forgeable()])),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "string body",
        post(br#""hello""#),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "null body",
        post(b"null"),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "10,000 nested arrays",
        nested(10_000),
        400,
        Some("invalid_json"),
        Rejected,
    ));
    let deep_objects = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    add(case(
        "10,000 nested objects",
        post(deep_objects),
        400,
        Some("invalid_json"),
        Rejected,
    ));
    let mut bad_utf8 = serde_json::to_vec(&with(&["data", "comment"], json!("AAAA"))).unwrap();
    let at = find(&bad_utf8, b"AAAA").unwrap();
    bad_utf8[at..at + 4].copy_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
    add(case(
        "invalid UTF-8 in a string",
        post(bad_utf8),
        400,
        Some("invalid_json"),
        Rejected,
    ));
    let mut raw_nul = serde_json::to_vec(&forgeable()).unwrap();
    raw_nul.insert(1, 0);
    add(case(
        "raw NUL byte",
        post(raw_nul),
        400,
        Some("invalid_json"),
        Rejected,
    ));
    let mut bom = vec![0xef, 0xbb, 0xbf];
    bom.extend(serde_json::to_vec(&forgeable()).unwrap());
    add(case(
        "UTF-8 byte order mark",
        post(bom),
        400,
        Some("invalid_json"),
        Rejected,
    ));
    add(case(
        "escaped NUL in the tenant",
        post_json(&with(&["tenant"], json!("my-school\u{0}"))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    let body = forgeable();
    let id = body["id"].as_str().unwrap().to_string();
    let dup_id = serde_json::to_string(&body).unwrap().replacen(
        '{',
        &format!(r#"{{"id":"{}","#, new_id()),
        1,
    );
    assert!(dup_id.contains(&id));
    add(case(
        "the id key twice",
        post(dup_id),
        400,
        Some("invalid_json"),
        Rejected,
    ));
    let dup_status = serde_json::to_string(&forgeable()).unwrap().replacen(
        r#""statusId":1"#,
        r#""statusId":1,"statusId":9"#,
        1,
    );
    add(case(
        "a data key twice",
        post(dup_status),
        400,
        Some("invalid_json"),
        Rejected,
    ));

    // Numbers.
    let huge =
        serde_json::to_string(&forgeable())
            .unwrap()
            .replacen(r#""id":1000"#, r#""id":1e400"#, 1);
    add(case(
        "number out of range (1e400)",
        post(huge),
        400,
        Some("invalid_json"),
        Rejected,
    ));
    let big = serde_json::to_string(&forgeable()).unwrap().replacen(
        r#""id":1000"#,
        r#""id":99999999999999999999999"#,
        1,
    );
    add(case(
        "integer beyond i64",
        post(big),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "u64::MAX record id",
        post_json(&with(&["data", "id"], json!(u64::MAX))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "float where an integer belongs",
        post_json(&with(&["data", "statusId"], json!(1.0))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "float timestamp",
        post_json(&with(&["timestamp"], json!(now_ms() as f64 + 0.5))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "timestamp as a string",
        post_json(&with(&["timestamp"], json!(now_ms().to_string()))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "timestamp 0",
        post_json(&with(&["timestamp"], json!(0))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "negative timestamp",
        post_json(&with(&["timestamp"], json!(-1))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "timestamp an hour ahead",
        post_json(&with(&["timestamp"], json!(now_ms() + 3_600_000))),
        422,
        Some("timestamp_in_future"),
        Rejected,
    ));

    // Wrong types and shapes, field by field.
    add(case(
        "id missing",
        post_json(&without(&["id"])),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "id a number",
        post_json(&with(&["id"], json!(5))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "id not a UUID",
        post_json(&with(&["id"], json!("../../etc/passwd"))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    let braced = format!("{{{}}}", new_id());
    add(case(
        "id a UUID in braces",
        post_json(&attendance(
            "ATTENDANCE_CREATED",
            &braced,
            now_ms(),
            record(1000, 1, ""),
        )),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "type a number",
        post_json(&with(&["type"], json!(7))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "type empty",
        post_json(&with(&["type"], json!(""))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "tenant missing",
        post_json(&without(&["tenant"])),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "tenant of 201 characters",
        post_json(&with(&["tenant"], json!("t".repeat(201)))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "data missing",
        post_json(&without(&["data"])),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "data an array",
        post_json(&with(&["data"], json!([1]))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "data.date impossible",
        post_json(&with(&["data", "date"], json!("2025-02-30"))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "data.classId a string",
        post_json(&with(&["data", "classId"], json!("34"))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "data.comment null",
        post_json(&with(&["data", "comment"], json!(null))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "data.studentPeriodId a boolean",
        post_json(&with(&["data", "studentPeriodId"], json!(true))),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "data.type empty",
        post_json(&with(&["data", "type"], json!(""))),
        422,
        Some("invalid_field"),
        Rejected,
    ));

    // Forgeries.
    add(case(
        "signature missing",
        post_json(&without(&["signature"])),
        401,
        Some("signature_missing"),
        Rejected,
    ));
    add(case(
        "signature a number",
        post_json(&with(&["signature"], json!(12345))),
        401,
        Some("signature_missing"),
        Rejected,
    ));
    add(case(
        "signature empty",
        post_json(&with(&["signature"], json!(""))),
        401,
        Some("signature_invalid"),
        Rejected,
    ));
    add(case(
        "signature wrong",
        post_json(&with(
            &["signature"],
            json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        )),
        401,
        Some("signature_invalid"),
        Rejected,
    ));
    add(case(
        "signature of another id",
        post_json(&with(&["signature"], json!(key().sign(&new_id())))),
        401,
        Some("signature_invalid"),
        Rejected,
    ));
    let good = forgeable();
    let sig = good["signature"].as_str().unwrap().to_string();
    add(case(
        "signature truncated",
        post_json(&with(&["signature"], json!(sig[..40].to_string()))),
        401,
        Some("signature_invalid"),
        Rejected,
    ));
    let broken_sig = format!("{}\n{}", &sig[..20], &sig[20..]);
    add(case(
        "signature with a line break inside",
        post_json(&with(&["signature"], json!(broken_sig))),
        401,
        Some("signature_invalid"),
        Rejected,
    ));
    let upper_id = forgeable()["id"].as_str().unwrap().to_uppercase();
    let mut upper = forgeable();
    upper["id"] = json!(upper_id);
    add(case(
        "id upper-cased, signature of the lower-case id",
        post_json(&upper),
        401,
        Some("signature_invalid"),
        Rejected,
    ));
    let mut other_secret = forgeable();
    other_secret["signature"] = json!(rollcall_core::SigningKey::new(
        "not-the-secret",
        rollcall_core::KeyEncoding::Text
    )
    .unwrap()
    .sign(other_secret["id"].as_str().unwrap()));
    add(case(
        "signed with another secret",
        post_json(&other_secret),
        401,
        Some("signature_invalid"),
        Rejected,
    ));

    // HTTP framing and headers.
    add(case(
        "Content-Type text/plain",
        raw(
            "POST",
            "/webhooks/dreamclass",
            &[("content-type", "text/plain")],
            &serde_json::to_vec(&forgeable()).unwrap(),
        ),
        415,
        Some("unsupported_media_type"),
        Rejected,
    ));
    add(case(
        "no Content-Type",
        raw(
            "POST",
            "/webhooks/dreamclass",
            &[],
            &serde_json::to_vec(&forgeable()).unwrap(),
        ),
        415,
        Some("unsupported_media_type"),
        Rejected,
    ));
    // Only the head: the length alone is enough to refuse, so the body is never read.
    add(case(
        "Content-Length over 64 KiB",
        raw(
            "POST",
            "/webhooks/dreamclass",
            &[JSON, ("content-length", "70000")],
            b"",
        ),
        413,
        Some("body_too_large"),
        Rejected,
    ));
    let mut chunked_big = Vec::new();
    for _ in 0..70 {
        chunked_big.extend_from_slice(b"400\r\n");
        chunked_big.extend(std::iter::repeat_n(b' ', 1024));
        chunked_big.extend_from_slice(b"\r\n");
    }
    chunked_big.extend_from_slice(b"0\r\n\r\n");
    add(case(
        "chunked body over 64 KiB",
        raw(
            "POST",
            "/webhooks/dreamclass",
            &[JSON, ("transfer-encoding", "chunked")],
            &chunked_big,
        ),
        413,
        Some("body_too_large"),
        Rejected,
    ));
    add(case(
        "invalid chunk size",
        raw(
            "POST",
            "/webhooks/dreamclass",
            &[JSON, ("transfer-encoding", "chunked")],
            b"zz\r\n{}\r\n0\r\n\r\n",
        ),
        400,
        Some("body_unreadable"),
        Rejected,
    ));
    // RFC 9112 6.3: Transfer-Encoding overrides Content-Length, so the chunked framing is the
    // one read (an empty body here) and no second request can be smuggled behind it.
    add(case(
        "Content-Length and Transfer-Encoding both (smuggling)",
        raw(
            "POST",
            "/webhooks/dreamclass",
            &[
                JSON,
                ("content-length", "4"),
                ("transfer-encoding", "chunked"),
            ],
            b"0\r\n\r\n",
        ),
        400,
        Some("invalid_json"),
        Rejected,
    ));
    add(case(
        "two different Content-Lengths",
        raw(
            "POST",
            "/webhooks/dreamclass",
            &[JSON, ("content-length", "2"), ("content-length", "3")],
            b"{}",
        ),
        400,
        None,
        NotLogged,
    ));
    let many: Vec<(String, String)> = (0..200).map(|i| (format!("x-h{i}"), "v".into())).collect();
    let many_refs: Vec<(&str, &str)> = std::iter::once(JSON)
        .chain(many.iter().map(|(n, v)| (n.as_str(), v.as_str())))
        .collect();
    add(case(
        "200 headers",
        raw(
            "POST",
            "/webhooks/dreamclass",
            &many_refs,
            &serde_json::to_vec(&forgeable()).unwrap(),
        ),
        431,
        None,
        NotLogged,
    ));
    let huge_header = "a".repeat(1024 * 1024);
    add(case(
        "a 1 MiB header",
        raw(
            "POST",
            "/webhooks/dreamclass",
            &[JSON, ("x-big", &huge_header)],
            b"{}",
        ),
        431,
        None,
        NotLogged,
    ));
    add(case(
        "garbage request line",
        b"HELLO\r\n\r\n".to_vec(),
        400,
        None,
        NotLogged,
    ));
    add(case(
        "GET on the webhook",
        raw("GET", "/webhooks/dreamclass", &[], b""),
        405,
        Some("method_not_allowed"),
        NotLogged,
    ));
    add(case(
        "PUT on the webhook",
        raw(
            "PUT",
            "/webhooks/dreamclass",
            &[JSON],
            &serde_json::to_vec(&forgeable()).unwrap(),
        ),
        405,
        Some("method_not_allowed"),
        NotLogged,
    ));
    add(case(
        "path traversal",
        raw(
            "POST",
            "/webhooks/../webhooks/dreamclass",
            &[JSON],
            &serde_json::to_vec(&forgeable()).unwrap(),
        ),
        404,
        Some("not_found"),
        NotLogged,
    ));
    add(case(
        "encoded traversal to the local API",
        raw(
            "GET",
            "/webhooks/dreamclass/..%2f..%2fapi%2fattendance",
            &[],
            b"",
        ),
        404,
        Some("not_found"),
        NotLogged,
    ));
    add(case(
        "the local API's path",
        raw("GET", "/api/attendance", &[], b""),
        404,
        Some("not_found"),
        NotLogged,
    ));
    add(case(
        "upper-case path",
        raw(
            "POST",
            "/WEBHOOKS/DREAMCLASS",
            &[JSON],
            &serde_json::to_vec(&forgeable()).unwrap(),
        ),
        404,
        Some("not_found"),
        NotLogged,
    ));

    // Replays.
    let replay = created(1, 1);
    let mut changed = replay.clone();
    changed["data"]["statusId"] = json!(2);
    add(case(
        "the first delivery of an id",
        post_json(&replay),
        200,
        None,
        Stored(1),
    ));
    add(case(
        "the same id and body again",
        post_json(&replay),
        200,
        None,
        Stored(0),
    ));
    add(case(
        "the same id with a changed body",
        post_json(&changed),
        409,
        Some("request_id_conflict"),
        Conflict,
    ));

    // Odd but valid: stored.
    let mut padded = created(2, 1);
    let sig = padded["signature"].as_str().unwrap().to_string();
    padded["signature"] = json!(format!("  {sig}\n"));
    add(case(
        "signature with white space around it",
        post_json(&padded),
        200,
        None,
        Stored(1),
    ));
    add(case(
        "a query string",
        raw(
            "POST",
            "/webhooks/dreamclass?x=1&id=evil",
            &[JSON],
            &serde_json::to_vec(&created(3, 1)).unwrap(),
        ),
        200,
        None,
        Stored(1),
    ));
    let body = serde_json::to_vec(&created(4, 1)).unwrap();
    let mut chunked = format!("{:x}\r\n", body.len()).into_bytes();
    chunked.extend_from_slice(&body);
    chunked.extend_from_slice(b"\r\n0\r\n\r\n");
    add(case(
        "chunked, no Content-Length",
        raw(
            "POST",
            "/webhooks/dreamclass",
            &[JSON, ("transfer-encoding", "chunked")],
            &chunked,
        ),
        200,
        None,
        Stored(1),
    ));
    let body = serde_json::to_vec(&created(5, 1)).unwrap();
    let mut http10 = format!(
        "POST /webhooks/dreamclass HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    http10.extend_from_slice(&body);
    add(case("HTTP/1.0", http10, 200, None, Stored(1)));
    add(case(
        "Content-Type with charset and odd case",
        raw(
            "POST",
            "/webhooks/dreamclass",
            &[("content-type", "Application/JSON; charset=UTF-8")],
            &serde_json::to_vec(&created(6, 1)).unwrap(),
        ),
        200,
        None,
        Stored(1),
    ));
    // DreamClass numbers its records from 1: a record id of 0 or below is no record of its.
    add(case(
        "record id 0",
        post_json(&created(0, 1)),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    add(case(
        "record id -1",
        post_json(&created(-1, 1)),
        422,
        Some("invalid_field"),
        Rejected,
    ));
    cases
}

#[tokio::test]
async fn hostile_catalogue_gets_exact_answers_and_stores_nothing_forged() {
    let s = TestServer::start_with(|dir| {
        let mut c = signed_config(dir);
        c.limits.body_read_timeout = BODY_TIMEOUT;
        c
    })
    .await;
    let addr = s.server.as_ref().unwrap().info().webhook_addr;
    let cases = catalogue();
    let mut failures = Vec::new();
    let mut expected_changes = 0;
    let mut expected_rejected: Vec<i64> = Vec::new();
    for c in &cases {
        let answer = exchange(addr, &c.request).await;
        let got = responses(&answer);
        let ok = got.len() == 1
            && got[0].0 == c.status
            && match c.code {
                Some(code) => got[0].1["error"] == code,
                None => got[0].1.get("error").is_none(),
            }
            && (c.status != 200 || got[0].1 == json!({}));
        if !ok {
            failures.push(format!(
                "{}: expected {} {:?}, got {:?}",
                c.name,
                c.status,
                c.code,
                got.iter()
                    .map(|(s, b)| format!("{s} {b}"))
                    .collect::<Vec<_>>()
            ));
        }
        match c.effect {
            Effect::Stored(n) => expected_changes += n,
            Effect::Rejected => expected_rejected.push(c.status as i64),
            Effect::Conflict | Effect::NotLogged => {}
        }
    }
    println!(
        "hostile catalogue: {} requests, {} failures",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 40);

    // Nothing forged stored: only the valid records 1..=6, one change each.
    assert_eq!(s.change_count(), expected_changes);
    let ids: Vec<i64> = s.query(|c| {
        let mut stmt = c
            .prepare("SELECT attendance_id FROM attendance ORDER BY attendance_id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    });
    assert_eq!(ids, vec![1, 2, 3, 4, 5, 6]);
    let stored_status: i64 = s.count("SELECT status_id FROM attendance WHERE attendance_id = 1");
    assert_eq!(
        stored_status, 1,
        "the replayed id's changed body is not stored"
    );
    assert_eq!(s.count("SELECT COUNT(*) FROM requests"), 6);

    // The delivery log shows every handler refusal as rejected, with its status.
    let logged = expected_rejected.len() + 1 + 6 + 1;
    let outcomes = s.outcomes(logged).await;
    let mut rejected: Vec<i64> = outcomes
        .iter()
        .filter(|(o, _, _)| o == "rejected")
        .map(|(_, status, _)| *status)
        .collect();
    rejected.sort_unstable();
    expected_rejected.sort_unstable();
    assert_eq!(rejected, expected_rejected);
    let conflicts: Vec<_> = outcomes
        .iter()
        .filter(|(o, _, _)| o == "conflict")
        .collect();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].1, 409);
    assert_eq!(outcomes.len(), logged, "{outcomes:?}");
}

/// A raw request head for a signed body of `length` bytes.
fn head(length: usize) -> Vec<u8> {
    format!(
        "POST /webhooks/dreamclass HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
         content-length: {length}\r\nconnection: close\r\n\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn slow_and_short_bodies_are_cut_off() {
    let s = TestServer::start_with(|dir| {
        let mut c = signed_config(dir);
        c.limits.body_read_timeout = BODY_TIMEOUT;
        c
    })
    .await;
    let addr = s.server.as_ref().unwrap().info().webhook_addr;
    let body = serde_json::to_vec(&created(7, 1)).unwrap();

    // Slow drip: the head at once, then the body a byte per 100 ms, far slower than the body
    // read timeout allows: 408.
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&head(body.len())).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let dripped = body.clone();
    let drip = tokio::spawn(async move {
        for byte in dripped {
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes within 10 s")
        .unwrap();
    drip.abort();
    let elapsed = started.elapsed();
    let got = responses(&answer);
    assert_eq!(got[0].0, 408, "{got:?}");
    assert_eq!(got[0].1["error"], "body_timeout");
    assert!(
        elapsed >= BODY_TIMEOUT && elapsed < BODY_TIMEOUT * 4,
        "{elapsed:?}"
    );

    // A Content-Length larger than what is sent, the connection held open: 408 as well.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&head(body.len() + 100)).await.unwrap();
    stream.write_all(&body).await.unwrap();
    let got = responses(&read_to_close(&mut stream).await);
    assert_eq!(got[0].0, 408, "{got:?}");
    assert_eq!(got[0].1["error"], "body_timeout");

    // The same, but the sender gives up and closes its side: the body is incomplete.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(&head(body.len() + 100)).await.unwrap();
    stream.write_all(&body).await.unwrap();
    stream.shutdown().await.unwrap();
    let got = responses(&read_to_close(&mut stream).await);
    assert_eq!(got[0].0, 400, "{got:?}");
    assert_eq!(got[0].1["error"], "body_unreadable");

    // Pipelined: two valid deliveries in one write, answered in order on one connection.
    let first = serde_json::to_vec(&created(8, 1)).unwrap();
    let second = serde_json::to_vec(&created(9, 1)).unwrap();
    let mut pipelined = format!(
        "POST /webhooks/dreamclass HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        first.len()
    )
    .into_bytes();
    pipelined.extend_from_slice(&first);
    pipelined.extend(head(second.len()));
    pipelined.extend_from_slice(&second);
    let got = responses(&exchange(addr, &pipelined).await);
    assert_eq!(
        got.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        vec![200, 200]
    );

    // Nothing from the cut-off bodies was stored; both pipelined ones were.
    assert_eq!(s.change_count(), 2);
    let outcomes = s.outcomes(5).await;
    let mut statuses: Vec<(String, i64)> = outcomes.into_iter().map(|(o, st, _)| (o, st)).collect();
    statuses.sort();
    assert_eq!(
        statuses,
        vec![
            ("applied".to_string(), 200),
            ("applied".to_string(), 200),
            ("rejected".to_string(), 400),
            ("rejected".to_string(), 408),
            ("rejected".to_string(), 408),
        ]
    );
}

/// A server whose webhook listener cuts request heads after `HEAD_TIMEOUT` and serves at most
/// `connections` at once.
async fn limited_server(connections: usize) -> TestServer {
    TestServer::start_with(|dir| {
        let mut c = signed_config(dir);
        c.limits.body_read_timeout = BODY_TIMEOUT;
        c.connection_limits = rollcall_server::limits::ConnectionLimits {
            max_connections: connections,
            header_read_timeout: HEAD_TIMEOUT,
        };
        c
    })
    .await
}

const HEAD_TIMEOUT: Duration = Duration::from_millis(1000);

#[tokio::test]
async fn slow_and_silent_request_heads_are_cut_off() {
    let s = limited_server(16).await;
    let addr = s.server.as_ref().unwrap().info().webhook_addr;

    // Slowloris: a header line a byte per 100 ms, never finished.
    let started = Instant::now();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let drip = tokio::spawn(async move {
        let head = b"POST /webhooks/dreamclass HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ";
        writer.write_all(head).await.unwrap();
        loop {
            if writer.write_all(b"a").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let mut answer = Vec::new();
    let closed =
        tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut answer)).await;
    drip.abort();
    let elapsed = started.elapsed();
    assert!(closed.is_ok(), "the slow head was cut off");
    assert!(
        elapsed >= HEAD_TIMEOUT && elapsed < HEAD_TIMEOUT * 4,
        "{elapsed:?}"
    );

    // A connection that sends nothing at all is closed too.
    let started = Instant::now();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let _ = read_to_close(&mut silent).await;
    assert!(
        started.elapsed() < HEAD_TIMEOUT * 4,
        "{:?}",
        started.elapsed()
    );

    // Normal service meanwhile and after.
    let got = responses(&exchange(addr, &post_json(&created(1, 1))).await);
    assert_eq!(got[0].0, 200);
    assert_eq!(s.change_count(), 1);
}

#[tokio::test]
async fn the_connection_cap_holds_and_slow_clients_cannot_keep_it() {
    let s = limited_server(4).await;
    let addr = s.server.as_ref().unwrap().info().webhook_addr;
    // Four idle connections take every place.
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A fifth waits for a place, which the head deadline frees; it is then served.
    let started = Instant::now();
    let got = responses(&exchange(addr, &post_json(&created(1, 1))).await);
    let waited = started.elapsed();
    assert_eq!(got[0].0, 200, "{got:?}");
    assert!(
        waited >= HEAD_TIMEOUT / 2 && waited < HEAD_TIMEOUT * 5,
        "served after {waited:?}: the cap made it wait until the idle ones were cut off"
    );
    for mut stream in idle {
        let _ = read_to_close(&mut stream).await;
    }
    assert_eq!(s.change_count(), 1);
}
