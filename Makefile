# tenantalign - driven by ./build.sh; plain `make` builds the library and CLI.
# Every file added under common/, cli/, tests/unit/, tests/fuzz/ and bench/ is
# picked up by wildcard: adding a module needs no edit here.

BUILD    ?= build
CC       ?= cc
SAN      ?=
OPT      ?= -O2

PKGS     := openssl libsodium libpcre2-8 libpsl libidn2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS)) -lcdb
# ldns: DNS for onboarding (tenantalign dns/verify); the CLI, tests and fuzz
# targets link it, the adapters never query DNS and do not
DNS_CFLAGS := $(shell pkg-config --cflags ldns)
DNS_LIBS   := $(shell pkg-config --libs ldns)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
            -Wno-unused-parameter
CFLAGS   := -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L $(OPT) -g \
            -fPIC $(WARN) -Icommon $(PKG_CFLAGS) $(DNS_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS  += $(EXTRA_LDFLAGS)

ifeq ($(SAN),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
endif

CORE_SRC := $(wildcard common/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/obj/%.o)
CLI_SRC  := $(wildcard cli/*.c)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
LIB      := $(BUILD)/libtenantalign.a

.PHONY: all lib cli unit bench fuzz clean
all: lib cli

lib: $(LIB)
cli: $(BUILD)/tenantalign
unit: $(UNIT_BIN)
bench: $(BENCH_BIN)

$(BUILD)/obj/%.o: %.c $(wildcard common/*.h) $(wildcard cli/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(CORE_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/tenantalign: $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(PKG_LIBS) $(DNS_LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(DNS_LIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c bench/bench.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ibench $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) $(DNS_LIBS) -lm

# libFuzzer targets: built with clang, the core compiled in with sanitizers.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_FLAGS := -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -O1 -g \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
              -Icommon $(PKG_CFLAGS) $(DNS_CFLAGS)
fuzz: $(FUZZ_BIN)
$(BUILD)/fuzz/%: tests/fuzz/%.c $(CORE_SRC) $(wildcard common/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_FLAGS) -o $@ $< $(CORE_SRC) $(PKG_LIBS) $(DNS_LIBS)

# Adapters add their own rules here.
-include exim/build.mk
-include nginx/build.mk

clean:
	rm -rf $(BUILD)
