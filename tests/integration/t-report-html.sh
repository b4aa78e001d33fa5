#!/bin/bash
# `decoy report` reads a run report, prints the table, writes JUnit XML and
# one self-contained HTML page (inline SVG charts, no scripts, nothing
# fetched); `decoy report merge` adds shard reports exactly and names a bad
# file.  With Debian's chromium installed, the page is rendered headless:
# the screenshot must be non-trivial and the console free of errors.
. "$(dirname "$0")/lib.sh"

# A report written by hand (no generator needed): 30 seconds of two
# endpoints, latency rising mid-run; histograms built with the layout of
# hist.h (exact below 128 us, then 64 sub-buckets per power of two).
awk -v shard="${1:-}" '
function bucket(v,   k, p) {
	if (v < 128) return v
	k = 0; p = 1
	while (p * 2 <= v) { p *= 2; k++ }
	return 128 + (k - 7) * 64 + int((v - p) / (p / 64))
}
function hist(ep,   i, s, first) {
	s = sprintf("{\"total\":%d,\"min_us\":%d,\"max_us\":%d,\"sum_us\":%d,\"overflow\":0,\"buckets\":[", n[ep], mn[ep], mx[ep], sum[ep])
	first = 1
	for (i = 0; i < 1728; i++) if ((ep, i) in cnt) {
		s = s (first ? "" : ",") "[" i "," cnt[ep, i] "]"; first = 0
	}
	return s "]}"
}
BEGIN {
	srand(7)
	for (sec = 0; sec < 30; sec++) {
		for (j = 0; j < 40; j++) {
			ep = j % 4 == 0 ? 2 : 1
			lat = int(2000 + rand() * 3000 + (sec >= 12 && sec < 18 ? rand() * 60000 : 0))
			if (rand() < 0.01) lat = lat * 20
			st = (sec >= 14 && sec < 16 && j % 5 == 0) ? 503 : 200
			if (ep == 2 && j == 4) st = 201
			n[ep]++; sum[ep] += lat; cnt[ep, bucket(lat)]++
			if (!(ep in mn) || lat < mn[ep]) mn[ep] = lat
			if (lat > mx[ep]) mx[ep] = lat
			status[ep, st]++
			tc[sec]++; ts[sec] += lat; if (lat > tm[sec]) tm[sec] = lat
			if (st >= 500) te[sec]++
		}
	}
	printf "{\"version\":1,\"name\":\"checkout-under-chaos\",\"target\":\"http://127.0.0.1:8080\",\"start_us\":1700000000000000,\"duration_us\":30000000,\"scheduled\":1200,\"late\":4,\"dropped\":0,\"shards\":1,\"endpoints\":["
	split("GET /orders/1|POST /orders", names, "|")
	for (ep = 1; ep <= 2; ep++) {
		split(names[ep], mp, " ")
		printf "%s{\"method\":\"%s\",\"path\":\"%s\",\"count\":%d,\"errors\":{\"connect\":0,\"reset\":0,\"timeout\":0,\"protocol\":0},\"status\":[", ep == 1 ? "" : ",", mp[1], mp[2], n[ep]
		first = 1
		for (st = 200; st < 600; st++) if ((ep, st) in status) {
			printf "%s[%d,%d]", first ? "" : ",", st, status[ep, st]; first = 0
		}
		printf "],\"compared\":%d,\"regressions\":%d,\"diffs\":[", n[ep], ep == 2 ? 1 : 0
		if (ep == 2) printf "{\"txn\":\"t-42\",\"field\":\"$.total\",\"expected\":\"12.50\",\"actual\":\"<b>13.00</b> & more\"}"
		printf "],\"hist\":%s}", hist(ep)
	}
	printf "],\"ticks\":["
	for (sec = 0; sec < 30; sec++)
		printf "%s[%d,%d,%d,%d]", sec ? "," : "", tc[sec], te[sec] + 0, ts[sec], tm[sec]
	printf "],\"faults\":[{\"rule\":\"payments-flaky\",\"kind\":\"status 503\",\"count\":48}],"
	printf "\"assertions\":[{\"name\":\"latency.p95\",\"expected\":\"<= 250ms\",\"actual\":\"61.2ms\",\"passed\":true},"
	printf "{\"name\":\"error_rate.max\",\"expected\":\"<= 1%%\",\"actual\":\"1.33%%\",\"passed\":false}]}\n"
}' >"$T/r.json"

# --- show and render
"$DECOY" report "$T/r.json" --html "$T/out.html" --junit "$T/out.xml" \
    >"$T/table.txt" 2>"$T/report.log"
check "a failed assertion makes the exit status 1" [ $? -eq 1 ]
check "table header" grep -Eq "^  ENDPOINT +COUNT +REQ/S +P50 +P90 +P95 +P99 +P99\.9 +MAX" "$T/table.txt"
check "endpoint rows with the status mix" \
    grep -Eq "^  POST /orders +300 +10\.0 .* 200:[0-9]+ 201:30 503:[0-9]+$" "$T/table.txt"
check "a total row" grep -Eq "^  all \(total\) +1200 +40\.0 " "$T/table.txt"
check "assertions listed" grep -q "FAIL  error_rate.max .*expected <= 1%, actual 1.33%" "$T/table.txt"
check "faults listed" grep -q "payments-flaky .*status 503 .*48" "$T/table.txt"
check "first differences listed" grep -q "actual:   <b>13.00</b> & more" "$T/table.txt"

check "JUnit written" [ -s "$T/out.xml" ]
check "JUnit: one suite named after the report" \
    grep -q '<testsuite name="checkout-under-chaos" tests="4" failures="2"' "$T/out.xml"
check "JUnit: the failed assertion names expected and actual" \
    grep -q 'failure message="error_rate.max: expected &lt;= 1%, actual 1.33%"' "$T/out.xml"
check "JUnit: regression failure escaped" grep -q '&lt;b&gt;13.00&lt;/b&gt; &amp; more' "$T/out.xml"
if command -v xmllint >/dev/null 2>&1; then
	check "JUnit is well-formed XML" xmllint --noout "$T/out.xml"
fi

check "HTML written" [ -s "$T/out.html" ]
check "HTML has inline SVG charts" [ "$(grep -o '<svg' "$T/out.html" | wc -l)" -eq 4 ]
check "HTML has no script" sh -c "! grep -qi '<script' '$T/out.html'"
check "HTML fetches nothing" sh -c "! grep -Eqi '(src|href)=\"(https?:)?//' '$T/out.html'"
check "HTML escapes the differences" grep -q '&lt;b&gt;13.00&lt;/b&gt; &amp; more' "$T/out.html"

# --- JSON re-emitted, and merging
"$DECOY" report "$T/r.json" --json >"$T/r2.json" 2>>"$T/report.log"
check "--json re-emits a report that reads back identically" \
    sh -c "'$DECOY' report '$T/r2.json' --json 2>/dev/null | cmp -s - '$T/r2.json'"
"$DECOY" report merge "$T/r.json" "$T/r.json" -o "$T/m.json" 2>>"$T/report.log"
check "merge exits 0" [ $? -eq 0 ]
check "merged counts add" grep -q '"shards":2' "$T/m.json"
check "merged table doubles the counts" \
    sh -c "'$DECOY' report '$T/m.json' | grep -Eq '^  all \(total\) +2400 +80\.0 '"
echo '{"version":1,"name":"x","endpoints":[{"method":"GET"}]}' >"$T/bad.json"
"$DECOY" report merge "$T/r.json" "$T/bad.json" -o "$T/m2.json" 2>"$T/merge.err"
check "merge of a bad file exits 2" [ $? -eq 2 ]
check "the error names the bad file" grep -q "bad.json: \"path\" must be a string" "$T/merge.err"
check "nothing written on error" [ ! -e "$T/m2.json" ]

# --- the page in a real browser
if command -v chromium >/dev/null 2>&1; then
	CHROME_ARGS=(--headless --no-sandbox --disable-gpu --disable-quic
	    --no-first-run --disable-background-networking
	    --disable-component-update --disable-sync
	    --user-data-dir="$T/prof" --window-size=1200,1600)
	timeout 60 chromium "${CHROME_ARGS[@]}" --screenshot="$T/shot.png" \
	    "file://$T/out.html" >"$T/chromium-shot.out" 2>&1
	check "screenshot taken" [ -s "$T/shot.png" ]
	check "screenshot is non-trivial (> 10 KB)" \
	    [ "$(stat -c %s "$T/shot.png" 2>/dev/null || echo 0)" -gt 10240 ]
	timeout 60 chromium "${CHROME_ARGS[@]}" --enable-logging=stderr --v=0 \
	    --dump-dom "file://$T/out.html" >"$T/dom.html" 2>"$T/chromium-dom.out"
	check "the DOM has the charts" grep -q "<svg" "$T/dom.html"
	check "no console errors" \
	    sh -c "! grep -Ei 'Uncaught|CONSOLE.*error' '$T/chromium-dom.out'"
	[ -n "${SHOT:-}" ] && cp "$T/shot.png" "$SHOT"
else
	echo "# chromium not installed: browser checks skipped"
fi

done_testing
