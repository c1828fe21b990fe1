//! libFuzzer target: `confpayd decode` (`confpay::decode::run`) on an arbitrary stream: exit status 0
//! or 1, stdout valid UTF-8 JSON lines, at most one stderr line, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let status = confpay::decode::run(data, &mut out, &mut err);
    assert!(status == 0 || status == 1, "status {status}");
    assert!(std::str::from_utf8(&out).is_ok());
    let err = String::from_utf8(err).expect("stderr UTF-8");
    assert!(err.lines().count() <= usize::from(status == 1));
});
