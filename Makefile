# parcours — the Makefile is the contract: `make run` and `make test` do all the set-up.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/parcours
WORKFLOWCHECK_VERSION := v0.6.0
STATICCHECK_VERSION   := v0.8.2

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z/-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-16s %s\n", $$1, $$2}'

.PHONY: deps
deps: ## Install what is missing (PostgreSQL server from Debian)
	@scripts/deps.sh

.PHONY: build
build: ## Build bin/parcours
	$(GO) build -o $(BIN) ./cmd/parcours

.PHONY: run
run: deps build ## Start the service (local PostgreSQL + embedded Temporal under ./data)
	./$(BIN) serve

.PHONY: test
test: lint build bin/workflowcheck ## Run every test, after make lint (installs PostgreSQL and Chromium if missing, starts a private PostgreSQL)
	@scripts/deps.sh chromium
	@scripts/test.sh

.PHONY: soak
soak: build bin/workflowcheck ## The fault tests' long variants (PostgreSQL down 90 s under 1,000 people, 8 kill -9 over 2,000, 2,000 wrong logins) and 5 min of fuzzing each
	@PARCOURS_SOAK=1 scripts/test.sh -run 'TestRealBinaryActivitiesRetryThroughPostgreSQLOutage|TestRealBinaryKill9DuringOverdueBurst|TestRealBinaryLoginFlood' -timeout 60m ./internal/e2e/
	@for t in FuzzReadFlux:./internal/importer/ FuzzReadCSV:./internal/importer/ FuzzWriteEndpoints:./internal/httpapi/; do \
	  go test -run '^$$' -fuzz "^$${t%%:*}\$$" -fuzztime "$${PARCOURS_SOAK_FUZZTIME:-5m}" -fuzzminimizetime 200x "$${t#*:}" || exit 1; \
	done

.PHONY: test/race
test/race: deps build ## Run the tests with the race detector
	@GOFLAGS=-race scripts/test.sh

.PHONY: lint
lint: bin/workflowcheck bin/staticcheck ## gofmt, go vet, staticcheck, go mod tidy unchanged, workflowcheck
	@echo "== lint"
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet -tags e2e ./...
	bin/staticcheck -tags e2e ./...
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum: run go mod tidy"; exit 1; }
	bin/workflowcheck ./workflows/...

bin/staticcheck:
	GOBIN=$(CURDIR)/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

bin/workflowcheck:
	GOBIN=$(CURDIR)/bin $(GO) install go.temporal.io/sdk/contrib/tools/workflowcheck@$(WORKFLOWCHECK_VERSION)

.PHONY: record-history
record-history: deps build bin/workflowcheck ## Record the missing workflow histories of the replay tests and their golden deadlines (never overwrites)
	@RECORD_HISTORY=$(CURDIR)/workflows/testdata scripts/test.sh -run 'TestRepriseStockThenContract|TestMarkStockOnRevision1Run|TestParcoursLifecycleOverHTTP|TestLifecycleOverHTTP|TestManyMessages|TestListAndTaskFilters|TestEscalationOverHTTP|TestLettersOverHTTP|TestDecisionLetterOverHTTP|TestComplianceDuringSuppression|TestAppealWindowFromTheNotification|TestReorientationWithinSixMonths|TestObstacleDatedBefore|TestContractMonthFromTheOrientationsNotification|TestRepeatWindowFromTheNotification|TestFreeTextStaysOutOfHistories|TestReadModelWriteFailedThenRetried|TestReadModelWriteFallsBackToAnActivity|TestRelancesBreachHearingDecisionHistories|TestSocialReviewHistory|TestRevision2RunCancelsFromItsFirstLiveWait|TestRunningRunSwitchesAtItsFirstLiveWait|TestDeadlineTimerFiredHistory|TestResyncRebuildsTheReadModel|TestUpdateInTheFirstTaskSeesTheRunsFlags' ./internal/httpapi/
	@PARCOURS_RECORD_HISTORY=$(CURDIR)/workflows/testdata $(GO) test -count=1 -run 'TestRecordRuleTakeover' ./workflows/
	@PARCOURS_GOLDEN=missing $(GO) test -count=1 -run 'TestReplayedHistoriesComputeTheirDeadlines' ./workflows/

.PHONY: screenshots
screenshots: build bin/workflowcheck ## Refresh docs/screenshots from the browser test
	@scripts/deps.sh chromium
	@PARCOURS_SCREENSHOTS=1 scripts/test.sh -run TestBrowser ./internal/e2e/

.PHONY: bench
bench: deps build ## Measure on this machine (BENCH_SCALE=large for 100,000 people); JSON under bench/results/
	./$(BIN) bench --scale "$(BENCH_SCALE)" --results bench/results

.PHONY: db/reset
db/reset: build ## Stop the local PostgreSQL and delete ./data (all local data!)
	-./$(BIN) postgres stop
	rm -rf ./data

.PHONY: clean
clean: ## Remove build outputs and test clusters
	-./$(BIN) postgres stop --dir /tmp/parcours-test-54339/postgres --port 54339 2>/dev/null
	rm -rf bin .test
