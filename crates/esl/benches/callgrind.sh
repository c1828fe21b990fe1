#!/usr/bin/env bash
# Instruction counts (valgrind callgrind) of the parser on a small corpus: stable on a busy machine,
# unlike wall time. Prints instructions per event for each divan bench function matched by $1
# (default: all of plain, json, xml). Run from the crate root: bash benches/callgrind.sh [group]
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${CONFPAY_BENCH_MB:-4}
bin=$(cargo bench --bench parser --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*parser-[^"]*\)".*/\1/p' | tail -1)
out=$(mktemp -d)
for group in ${1:-plain json xml}; do
    CONFPAY_BENCH_MB=$mb CONFPAY_BENCH_PEERS=0 valgrind --tool=callgrind \
        --callgrind-out-file="$out/$group.cg" "$bin" --bench "$group" \
        --sample-count 1 --sample-size 1 >/dev/null 2>&1
    echo "== $group (corpus ${mb} MiB)"
    # Inclusive instructions of the decode entry points (the largest figure callgrind_annotate shows
    # for each: it also lists per-inlined-file parts), and how many events were decoded.
    ann=$(callgrind_annotate --threshold=100 --inclusive=yes "$out/$group.cg" 2>/dev/null)
    grep -v '=>' <<<"$ann" |
        sed -nE 's/^ *([0-9,]+) \([^)]*\) +[^:]*:([^ ]+).*/\1 \2/p' |
        grep -E ' (parser::common::(confpay_decode|memchr_split)|confpay_esl::(event::parse_plain|event_json::parse_json|event_xml::parse_xml))$' |
        awk '{n=$1; gsub(",", "", n); if (n + 0 > max[$2] + 0) max[$2] = n}
            END {for (f in max) printf "%14d Ir  %s\n", max[f], f}' | sort -k3
    grep -E '=> .*(esl::event::parse_plain|event_json::parse_json|event_xml::parse_xml) \(' <<<"$ann" |
        sed -E 's/.*\(([0-9,]+)x\).*/events: \1/' | head -1
done
rm -r "$out"
