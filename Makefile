# Helpers for people; CI runs .ci/run.
.PHONY: help run preview test race lint bench load river screenshots

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

run: ## serve the app (defaults: http://127.0.0.1:8080, ./aftercare.db; see `aftercare serve --help`)
	go run ./cmd/aftercare serve

preview: ## preview the built-in protocol on the embedded defaults
	go run ./cmd/aftercare preview --protocol microneedling --treated-at 2026-03-07T17:30 --tz America/New_York

test: ## run every test (the README's test command)
	go test ./...

race: ## run every test under the race detector
	go test -race ./...

lint: ## gofmt, go vet, go mod tidy and golangci-lint (.golangci.yaml; installs the pinned version)
	test -z "$$(gofmt -l .)"
	go vet ./...
	go mod tidy -diff
	./.ci/golangci-lint run ./...

bench: ## the benchmarks behind docs/performance.md (minutes; builds 1M-message files in $$TMPDIR once)
	go test ./scheduler -run '^$$' -bench 'Import' -benchtime 100000x -timeout 30m
	go test ./scheduler -run '^$$' -bench 'Preview'
	go test ./scheduler/dispatch -run '^$$' -bench 'Dispatch/' -benchtime 1x
	go test ./scheduler/dispatch -run '^$$' -bench 'DispatchMemory' -benchtime 300x
	go test ./scheduler/dispatch -run '^$$' -bench 'DispatchLateness' -benchtime 1x
	go test ./store/sqlite -run '^$$' -bench 'DueQuery' -benchtime 2000x
	go test ./web -run '^$$' -bench 'LogPage' -benchtime 200x
	go test ./web -run '^$$' -bench 'APIEnroll' -benchtime 5000x

load: ## load figures: the full server on loopback against ../shared/bench's Twilio fake (ARGS="--replicas 3 --delay 100ms --db postgres://...")
	go run ./cmd/aftercare-load $(ARGS)

river: ## dispatch rate side by side with River on SQLite (../shared/bench; tools built into /work/benchbin)
	scripts/bench-river.sh

screenshots: ## rewrite docs/screenshots/*.png from the browser tests
	AFTERCARE_SCREENSHOTS=1 go test ./web -run 'Browser' -count 1
