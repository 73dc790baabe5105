#!/usr/bin/env bash
# bench-river.sh: Aftercare's dispatch rate against River's, side by side in
# one run, the way ../shared/bench/README.md takes the ratio (issue 13):
# N SMS due now, 32 in flight, a zero-latency Twilio fake on loopback, and
# for each side (sends - 1) / (last send - first send) from the fake's `t`
# stamps.
#
#   scripts/bench-river.sh                 # N=5000, tools in /work/benchbin
#   N=5000 BIN=/tmp/benchbin BENCH=../shared/bench scripts/bench-river.sh
#
# It builds faketwilio and riverbench (River's code stays in ../shared/bench,
# its binaries in $BIN, outside the repository) and aftercare into $BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-5000}
C=${C:-32}
BIN=${BIN:-/work/benchbin}
BENCH=${BENCH:-../shared/bench}
BENCH=$(cd "$BENCH" && pwd)
mkdir -p "$BIN"
BIN=$(cd "$BIN" && pwd)

(cd "$BENCH/faketwilio" && go build -o "$BIN/faketwilio" .)
(cd "$BENCH/riverbench" && go build -o "$BIN/riverbench" .)
go build -o "$BIN/aftercare" ./cmd/aftercare

RUN=$(mktemp -d "${TMPDIR:-/tmp}/bench-river.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# rate FILE: sends, and (sends-1)/(last t - first t)
rate() { jq -rs '(map(.t)|min) as $a | (map(.t)|max) as $b | "\(length) \((length-1)/($b-$a))"' "$1"; }
waitlines() { # waitlines FILE N SECONDS
	local i=0
	while [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -lt "$2" ]; do
		sleep 0.2; i=$((i + 1))
		if [ $i -gt $(($3 * 5)) ]; then echo "only $(wc -l <"$1") of $2 sends after $3 s" >&2; return 1; fi
	done
	sleep 0.3 # the fake flushes its log every 100 ms
}

SID=AC0123456789abcdef0123456789abcdef
TOKEN=f00dfeedf00dfeedf00dfeedf00dfeed
# A zone where it is midday now, so the first text is inside the send window.
h=$((10#$(date -u +%H)))
off=$((h - 12))
zone=UTC
if [ $off -gt 0 ]; then zone="Etc/GMT+$off"; elif [ $off -lt 0 ]; then zone="Etc/GMT$off"; fi
now=$(date -u +%Y-%m-%dT%H:%M:00Z)
{
	echo "name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent"
	# The built-in microneedling protocol sends two texts at treatment
	# time: N/2 patients make N due SMS.
	for ((i = 0; i < (N + 1) / 2; i++)); do
		printf 'P %d,+1 415 %03d %04d,,%s,en,microneedling,%s,yes,no\n' $i $((200 + i / 10000)) $((i % 10000)) "$zone" "$now"
	done
} >"$RUN/due.csv"

export AFTERCARE_DB=$RUN/aftercare.db AFTERCARE_CLINIC_NAME="Glow Skin Studio" AFTERCARE_CLINIC_PHONE=+14155550199 AFTERCARE_CLINIC_TZ=UTC
"$BIN/aftercare" import "$RUN/due.csv" >"$RUN/import.txt"
cat "$RUN/import.txt"

# Aftercare
port=$(freeport)
"$BIN/faketwilio" -port "$port" -log "$RUN/aftercare.jsonl" 2>"$RUN/fake-a.err" & pids+=($!)
sleep 0.3
http=$(freeport)
AFTERCARE_HTTP_ADDR=127.0.0.1:$http AFTERCARE_TWILIO_BASE_URL=http://127.0.0.1:$port TWILIO_ACCOUNT_SID=$SID TWILIO_AUTH_TOKEN=$TOKEN \
	TWILIO_FROM=+15005550006 AFTERCARE_SEND_CONCURRENCY=$C AFTERCARE_SMS_RATE=0 AFTERCARE_OUTBOX=$RUN/outbox.jsonl \
	"$BIN/aftercare" serve >"$RUN/serve.out" 2>"$RUN/serve.err" & serve=$!; pids+=($serve)
waitlines "$RUN/aftercare.jsonl" "$N" 120
kill "$serve"; wait "$serve" || true

# River
port=$(freeport)
"$BIN/faketwilio" -port "$port" -log "$RUN/river.jsonl" 2>"$RUN/fake-r.err" & pids+=($!)
sleep 0.3
"$BIN/riverbench" -n "$N" -workers "$C" -base "http://127.0.0.1:$port" -db "$RUN/river.db"
waitlines "$RUN/river.jsonl" "$N" 5

read -r an ar < <(rate "$RUN/aftercare.jsonl")
read -r rn rr < <(rate "$RUN/river.jsonl")
printf 'aftercare: %d sends, %.0f msg/s\nriver:     %d sends, %.0f msg/s\nratio:     %.2f\n' "$an" "$ar" "$rn" "$rr" "$(echo "$ar / $rr" | bc -l)"
echo "(files in $RUN)"
