# netlab: top-level Makefile. `make help` lists the targets.

PYTHON ?= $(firstword $(wildcard /usr/bin/python3) python3)
LABS   := $(sort $(notdir $(wildcard labs/[0-9][0-9]-*)))
IMPL   ?= labs
LAB    ?=
K      ?=
FAULT_SEED ?=
SUDO   := $(if $(filter 0,$(shell id -u)),,sudo)

# Debian/Ubuntu packages: toolchain, Check, Valgrind, the grader's Python
# (Debian's pytest and plugins, python3-markdown for the notes,
# python3-matplotlib for the benchmarks' plots) and every real peer program
# the tests and benchmarks talk to.
PACKAGES := build-essential pkg-config check valgrind util-linux \
            python3 python3-pytest python3-pytest-xdist python3-pytest-timeout python3-yaml \
            python3-markdown python3-matplotlib iproute2 curl nginx-light wrk strace netcat-openbsd \
            atftpd atftp tftp-hpa dnsmasq-base bind9-dnsutils \
            ngircd python3-irc sic \
            redis-server redis-tools python3-redis \
            clang libclang-rt-14-dev \
            protobuf-compiler python3-protobuf libprotobuf-c-dev protobuf-c-compiler

# The slideshows (make slides, the slides stage of make test): Chromium and
# the fonts the browser check measures with. Marp CLI comes from npm (slides/
# package-lock.json) and needs Node.js >= 18 with npm: Debian's, unless an npm
# is there already (NodeSource's nodejs carries its own, and conflicts with
# Debian's npm package).
PACKAGES += chromium fonts-dejavu-core
NODE_PACKAGES := $(if $(shell command -v npm),,nodejs npm)
NODE   ?= node

RUNS   ?= 20

.PHONY: help setup build grade test selftest validate notes demos slides slides-check soak bench bench-grading mutants fuzz clean
.DEFAULT_GOAL := help

help:
	@echo "netlab - a Linux network-programming course in C"
	@echo
	@echo "  make setup              install every Debian package the course needs"
	@echo "  make test               the project's own tests: build, grader self-tests,"
	@echo "                          references score 100%, skeletons score 0, notes compile"
	@echo "  make build              build every lab and every reference solution"
	@echo "  make grade [LAB=01] [K=test_name] [IMPL=labs|solutions|DIR] [FAULT_SEED=N]"
	@echo "                          grade labs/ (or IMPL) and print the report"
	@echo "  make slides             build the lecture notes to slides/html/: a reading page"
	@echo "                          and a slideshow (Marp) per deck"
	@echo "  make slides-check       build them, then check every slideshow in headless"
	@echo "                          Chromium (nothing overflows, no errors; screenshots)"
	@echo "  make demos              run the notes' demos, check the decks quote them right"
	@echo "  make soak [RUNS=20]     grade the references RUNS times (half under load): 0 differences"
	@echo "  make bench              every lab's benchmark beside its real peer: bench/results.md"
	@echo "  make bench-grading [PROFILE=1]  time the grading of every lab (target: 60 s idle);"
	@echo "                          PROFILE=1: phases, builds, slowest items, fixed costs,"
	@echo "                          also written to bench/grading-profile.md"
	@echo "  make mutants [LAB=01] [J=2]  grade each lab's buggy variants (all must lose points)"
	@echo "                          and correct variants (all keep full marks)"
	@echo "  make fuzz [LAB=01] [SECONDS=60] [IMPL=solutions|labs]"
	@echo "                          fuzz every parser, SECONDS each, one per core"
	@echo "  make dist               the student release: dist/netlab-student/ and its tarball"
	@echo "  make gradescope [LAB=01] Gradescope autograders: dist/gradescope/"
	@echo "  make clean              remove everything built"
	@echo
	@echo "labs: $(LABS)"

setup:
	$(SUDO) apt-get update
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(PACKAGES) $(NODE_PACKAGES)
	cd slides && npm ci --no-audit --no-fund

build:
	@set -e; for lab in $(LABS); do \
	    $(MAKE) --no-print-directory -C labs/$$lab WERROR=1; \
	    $(MAKE) --no-print-directory -C solutions/$$lab WERROR=1; \
	done
	@# The grader builds the fault-injection library itself; here it must
	@# also compile without a warning.
	$(CC) -std=c11 -Wall -Wextra -Werror -fPIC -shared -o /dev/null \
	    grader/faultinject/faultinject.c -ldl

grade:
	$(PYTHON) grader/grade.py --impl $(IMPL) $(if $(LAB),--lab $(LAB)) $(if $(K),-k '$(K)') $(if $(M),--milestone '$(M)') \
	    $(if $(FAULT_SEED),--fault-seed $(FAULT_SEED))

# The project's tests; grader/check_project.py runs each stage and prints
# one summary line at the end.
test:
	$(PYTHON) grader/check_project.py

selftest:
	$(PYTHON) grader/check_project.py selftest

validate:
	$(PYTHON) grader/check_project.py references skeletons

notes:
	$(PYTHON) slides/build.py --check-code slides/[0-9]*.md

demos:
	$(PYTHON) slides/demos/check_demos.py

slides:
	$(PYTHON) slides/build.py --out slides/html slides/[0-9]*.md

slides-check: slides
	$(NODE) slides/check_slides.mjs --self-test slides/html/[0-9]*.slides.html

soak:
	$(PYTHON) grader/soak.py --runs $(RUNS)

bench:
	$(PYTHON) grader/bench_labs.py

bench-grading:
	$(PYTHON) grader/bench_grading.py $(if $(PROFILE),--profile)

J ?= 2
mutants:
	$(PYTHON) grader/mutants.py -j $(J) $(if $(LAB),--lab $(LAB))

# The references unless IMPL is given (IMPL=labs: the skeletons).
FUZZ_IMPL = $(if $(filter command line environment,$(origin IMPL)),$(IMPL),solutions)
fuzz:
	$(PYTHON) grader/fuzz.py --impl $(FUZZ_IMPL) $(if $(LAB),--lab $(LAB)) \
	    $(if $(SECONDS),--seconds $(SECONDS))

# The course's package list, for the release and the Gradescope image.
.PHONY: packages dist gradescope
packages:
	@echo $(PACKAGES)

dist:
	$(PYTHON) grader/dist.py --out dist

gradescope:
	$(PYTHON) grader/gradescope.py --out dist/gradescope $(if $(LAB),--lab $(LAB))

clean:
	@for lab in $(LABS); do \
	    $(MAKE) --no-print-directory -C labs/$$lab clean; \
	    $(MAKE) --no-print-directory -C solutions/$$lab clean; \
	done
	rm -rf grade-out slides/html dist
