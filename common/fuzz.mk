# common/fuzz.mk: fuzz targets of a lab, built with clang's libFuzzer.
# Included by lab.mk. Every fuzz/fuzz_WHAT.c is one target; its seed inputs
# are in fuzz/corpus/WHAT/, its dictionary (if any) in fuzz/WHAT.dict, and
# the crashes found so far in fuzz/regressions/WHAT/.
#
#     make fuzz [SECONDS=60] [TARGET=WHAT]   fuzz every target (or one)
#     make fuzz-build                        only build them, into build-fuzz/
#
# The lab's LIB_SRCS are compiled again with coverage and sanitizers into
# build-fuzz/ (never mixed with build/'s objects) and put in an archive, so
# that a target defining a function of its own (fuzz_head.c's die) takes
# precedence over the archive's.

FUZZ_CC     ?= clang
FUZZ_BUILD  := build-fuzz
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra $(FUZZ_SAN)
FUZZ_SRCS   := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BINS   := $(patsubst fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRCS))
FUZZ_LIB    := $(FUZZ_BUILD)/liblab.a
FUZZ_OBJS   := $(addprefix $(FUZZ_BUILD)/,$(LIB_SRCS:.c=.o)) $(FUZZ_BUILD)/common/die.o
FUZZ_RUNNER := $(COMMON_DIR)/../grader/fuzz.py

.PHONY: fuzz fuzz-build fuzz-clean

fuzz-build: $(FUZZ_BINS)

fuzz:
	$(PYTHON) $(FUZZ_RUNNER) --dir . $(if $(SECONDS),--seconds $(SECONDS)) \
	    $(if $(TARGET),--target $(TARGET))

$(FUZZ_BUILD)/%.o: %.c | $(FUZZ_BUILD)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/common/%.o: $(COMMON_DIR)/%.c | $(FUZZ_BUILD)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_LIB)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LDLIBS)

$(FUZZ_BUILD):
	mkdir -p $(FUZZ_BUILD)/common

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

clean: fuzz-clean

-include $(wildcard $(FUZZ_BUILD)/*.d $(FUZZ_BUILD)/common/*.d)
