#!/usr/bin/env bash
# bench-river.sh: Aftercare's dispatch rate against River's, side by side,
# the way ../shared/bench/README.md takes the ratio (issue 13): N SMS due
# now, 32 in flight, a zero-latency Twilio fake on loopback, and for each
# side (sends - 1) / (last send - first send) from the fake's `t` stamps.
#
#   scripts/bench-river.sh                  # N=5000, 3 rounds, tools in /work/benchbin
#   N=5000 ROUNDS=5 BIN=/tmp/benchbin BENCH=../shared/bench scripts/bench-river.sh
#   PROFILE=1 ROUNDS=1 N=30000 scripts/bench-river.sh   # + CPU, mutex and block profiles of serve in $BIN/prof
#   AFTERCARE=/tmp/other-build scripts/bench-river.sh   # an aftercare binary built elsewhere (A/B)
#
# Each round runs Aftercare, then River, on fresh files: on a shared machine
# the load changes from second to second, so the rounds alternate and the
# ratio is given per round, and of the medians. It builds faketwilio and
# riverbench (River's code stays in ../shared/bench, its binaries in $BIN,
# outside the repository) and aftercare into $BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-5000}
C=${C:-32}
ROUNDS=${ROUNDS:-3}
BIN=${BIN:-/work/benchbin}
BENCH=${BENCH:-../shared/bench}
BENCH=$(cd "$BENCH" && pwd)
mkdir -p "$BIN"
BIN=$(cd "$BIN" && pwd)

(cd "$BENCH/faketwilio" && go build -o "$BIN/faketwilio" .)
(cd "$BENCH/riverbench" && go build -o "$BIN/riverbench" .)
if [ -z "${AFTERCARE:-}" ]; then
	AFTERCARE=$BIN/aftercare
	go build ${PROFILE:+-tags pprof} -o "$AFTERCARE" ./cmd/aftercare
fi

RUN=$(mktemp -d "${TMPDIR:-/tmp}/bench-river.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# rate FILE: (sends-1)/(last t - first t)
rate() { jq -rs '(map(.t)|min) as $a | (map(.t)|max) as $b | (length-1)/($b-$a)' "$1"; }
waitlines() { # waitlines FILE N SECONDS
	local i=0
	while [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -lt "$2" ]; do
		sleep 0.2; i=$((i + 1))
		if [ $i -gt $(($3 * 5)) ]; then echo "only $(wc -l <"$1") of $2 sends after $3 s" >&2; return 1; fi
	done
	sleep 0.3 # the fake flushes its log every 100 ms
}
fake() { # fake LOG: starts a fake on port $port
	port=$(freeport)
	"$BIN/faketwilio" -port "$port" -log "$1" >/dev/null 2>>"$RUN/fake.err" &
	pids+=($!)
	sleep 0.3
}

SID=AC0123456789abcdef0123456789abcdef
TOKEN=f00dfeedf00dfeedf00dfeedf00dfeed
# A zone where it is midday now, so the first texts are inside the send window.
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
export AFTERCARE_CLINIC_NAME="Glow Skin Studio" AFTERCARE_CLINIC_PHONE=+14155550199 AFTERCARE_CLINIC_TZ=UTC
AFTERCARE_DB=$RUN/due.db "$AFTERCARE" import "$RUN/due.csv"

aftercare_round() { # aftercare_round K: sets rate
	local dir=$RUN/a$1 http pport serve
	mkdir -p "$dir"
	cp "$RUN/due.db" "$dir/aftercare.db"
	fake "$dir/sent.jsonl"
	http=$(freeport)
	pport=$(freeport)
	AFTERCARE_DB=$dir/aftercare.db AFTERCARE_HTTP_ADDR=127.0.0.1:$http AFTERCARE_TWILIO_BASE_URL=http://127.0.0.1:$port \
		TWILIO_ACCOUNT_SID=$SID TWILIO_AUTH_TOKEN=$TOKEN TWILIO_FROM=+15005550006 \
		AFTERCARE_SEND_CONCURRENCY=$C AFTERCARE_SMS_RATE=0 AFTERCARE_OUTBOX=$dir/outbox.jsonl \
		AFTERCARE_PPROF_ADDR=${PROFILE:+127.0.0.1:$pport} \
		"$AFTERCARE" serve >"$dir/serve.out" 2>"$dir/serve.err" &
	serve=$!
	pids+=($serve)
	if [ -n "${PROFILE:-}" ]; then
		# Serve claims at its first tick, within 1 s.
		mkdir -p "$BIN/prof"
		local pp=http://127.0.0.1:$pport/debug/pprof
		sleep 1
		curl -s "$pp/profile?seconds=${PROFILE_SECONDS:-3}" >"$BIN/prof/serve-cpu.pprof"
		curl -s "$pp/mutex" >"$BIN/prof/serve-mutex.pprof"
		curl -s "$pp/block" >"$BIN/prof/serve-block.pprof"
		cp "$AFTERCARE" "$BIN/prof/aftercare"
	fi
	waitlines "$dir/sent.jsonl" "$N" 120
	# CPU seconds serve used (user + system, start-up and idle included):
	# less noisy than a rate on a shared machine, for A/B of one side.
	cpu=$(awk -v hz="$(getconf CLK_TCK)" '{print ($14 + $15) / hz}' "/proc/$serve/stat")
	rss=$(awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$serve/status") # peak resident MiB
	kill "$serve"
	wait "$serve" || true
	rate=$(rate "$dir/sent.jsonl")
}

river_round() { # river_round K: sets rate
	local dir=$RUN/r$1
	mkdir -p "$dir"
	fake "$dir/sent.jsonl"
	/usr/bin/time -f '%U %S' -o "$dir/cpu" "$BIN/riverbench" -n "$N" -workers "$C" -base "http://127.0.0.1:$port" -db "$dir/river.db" >"$dir/river.out"
	cpu=$(awk '{print $1 + $2}' "$dir/cpu")
	waitlines "$dir/sent.jsonl" "$N" 5
	rate=$(rate "$dir/sent.jsonl")
}

as=() rs=() acs=() rcs=()
for ((k = 1; k <= ROUNDS; k++)); do
	aftercare_round $k
	a=$rate ac=$cpu arss=$rss
	river_round $k
	r=$rate rc=$cpu
	as+=("$a") rs+=("$r") acs+=("$ac") rcs+=("$rc")
	printf 'round %d: aftercare %.0f msg/s, river %.0f msg/s, ratio %.2f; CPU per send: aftercare %.0f us, river %.0f us; serve peak RSS %d MiB\n' \
		$k "$a" "$r" "$(echo "$a / $r" | bc -l)" "$(echo "$ac * 1000000 / $N" | bc -l)" "$(echo "$rc * 1000000 / $N" | bc -l)" "$arss"
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
am=$(median "${as[@]}")
rm_=$(median "${rs[@]}")
printf 'median of %d rounds (N=%d, %d in flight): aftercare %.0f msg/s, river %.0f msg/s, ratio %.2f; CPU per send: aftercare %.0f us, river %.0f us\n' \
	"$ROUNDS" "$N" "$C" "$am" "$rm_" "$(echo "$am / $rm_" | bc -l)" "$(echo "$(median "${acs[@]}") * 1000000 / $N" | bc -l)" "$(echo "$(median "${rcs[@]}") * 1000000 / $N" | bc -l)"
echo "(files in $RUN; nproc $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg))"
