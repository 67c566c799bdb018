# The commands a contributor and CI run; .ci/run calls `make check test`.
#
#   make check       gofmt (nothing to change), go vet, staticcheck
#   make test        the whole suite: race detector, shuffled order, e2e and browser tests
#   make test-short  the inner loop: skips the end-to-end and browser tests
#   make fuzz        every FuzzXxx for FUZZTIME each (make fuzz FUZZTIME=1m)
#   make bench       the README's benchmarks, one after another
#   make deb         Debian packages for amd64, arm64 and armhf in dist/
#
# staticcheck is a tool of the module (go.mod's tool line): `go tool
# staticcheck` builds the pinned version from the module cache, so it needs
# the network only the first time.

GO       ?= go
FUZZTIME ?= 10s

.PHONY: all check fmt vet staticcheck test test-short fuzz bench deb

all: check test

check: fmt vet staticcheck

fmt:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then \
		echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) tool staticcheck ./...

test:
	$(GO) test -race -shuffle=on ./...

test-short:
	$(GO) test -short ./...

# Every fuzz target in every package, found by name, so a new FuzzXxx is
# picked up without editing this file. `go test -fuzz` takes one target and
# one package at a time.
fuzz:
	@set -e; for dir in $$($(GO) list -f '{{.Dir}}' ./...); do \
		for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
			echo "== $$f ($$dir)"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$dir; \
		done; \
	done

# The commands of the README's Performance table, with the same -benchtime.
# Figures vary by about ±15 % on a shared machine; compare on one machine.
bench:
	$(GO) test -run '^$$' -bench 'BenchmarkIngestHTTP$$' -benchtime 20000x ./webui
	$(GO) test -run '^$$' -bench 'BenchmarkIngestHTTPPaced$$' -benchtime 5000x ./webui
	$(GO) test -run '^$$' -bench 'BenchmarkIngestHTTPSequential$$' -benchtime 2000x ./webui
	$(GO) test -run '^$$' -bench 'BenchmarkYearOfShop$$' -benchtime 200x -count 2 -timeout 60m ./webui
	$(GO) test -run '^$$' -bench 'BenchmarkStatusToBrowser$$' -benchtime 200x ./webui
	$(GO) test -run '^$$' -bench 'BenchmarkIdleStreamClients$$' -benchtime 200x ./webui
	$(GO) test -run '^$$' -bench 'BenchmarkDispatchZeroLatency$$' -benchtime 2000x ./gateway/...
	$(GO) test -run '^$$' -bench 'BenchmarkGuardMarketing$$' -benchtime 2000x ./gateway/...
	$(GO) test -run '^$$' -bench 'BenchmarkImportContacts$$' -benchtime 1x ./gateway/...
	$(GO) test -run '^$$' -bench 'BenchmarkFleetUtilization$$' -benchtime 80x ./gateway/...
	$(GO) test -run '^$$' -bench 'BenchmarkUpsertContacts$$' ./store
	$(GO) test -run '^$$' -bench 'BenchmarkListContactsSearch$$' ./store
	$(GO) test -run '^$$' -bench 'BenchmarkSendPart$$' ./modem
	$(GO) test -run '^$$' -bench 'BenchmarkSubmit$$' ./modem/sim

# The packages a shop's box installs with `apt install ./simgate_*.deb`
# (systemd/deb/build.sh says what is in them; VERSION=1.2.3 names one).
deb:
	systemd/deb/build.sh dist
