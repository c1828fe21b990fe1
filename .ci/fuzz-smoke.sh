#!/usr/bin/env bash
# Bounded fuzzing of the ESL decoder for CI: about FUZZ_SMOKE_SECONDS (default 60) of fuzzing after
# the build, then exit non-zero on the first crash, panic or broken bound.
#
# - With a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`): the libFuzzer targets in
#   fuzz/ (codec_stream, event_text, decode_run), each for a third of the budget, on a corpus seeded
#   at run time from tests/fixtures/freeswitch-esl/*.raw (fuzz/seed_corpus.py). A crash leaves
#   its input in fuzz/artifacts/<target>/; replay it with `cargo +nightly fuzz run <target> <file>`.
# - Otherwise (a stable-only machine): the property tests with
#   FUZZ_SMOKE_CASES (default 1000) cases per property instead of 256 (the `proptest_*` modules of
#   the ESL crate's and the root crate's test binaries).
set -euo pipefail
cd "$(dirname "$0")/.."

budget="${FUZZ_SMOKE_SECONDS:-60}"
export CARGO_TERM_COLOR=never

if cargo +nightly --version >/dev/null 2>&1 && cargo fuzz --version >/dev/null 2>&1; then
    targets=(codec_stream event_text decode_run)
    per=$(( budget / ${#targets[@]} ))
    (( per > 0 )) || per=1
    echo "== fuzz: seeding corpora from the recordings"
    python3 fuzz/seed_corpus.py
    echo "== fuzz: building ${targets[*]}"
    (cd fuzz && cargo +nightly fuzz build)
    for t in "${targets[@]}"; do
        echo "== fuzz: $t for ${per}s"
        (cd fuzz && cargo +nightly fuzz run "$t" "corpus/$t" -- \
            -max_total_time="$per" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1)
    done
    echo "fuzz-smoke: ${#targets[@]} passed, 0 failed"
else
    cases="${FUZZ_SMOKE_CASES:-1000}"
    echo "== no nightly toolchain or cargo-fuzz: property tests with PROPTEST_CASES=$cases"
    PROPTEST_CASES="$cases" cargo test --locked --test esl --test confpay proptest_
fi
