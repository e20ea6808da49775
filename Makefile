# contact-milter - see README.md.
#   make            build libcontactcore.a, contactctl and contact-milter in build/
#   make check      build with ASan+UBSan in build/check/ and run every suite
#   make demo       the whole workflow through a real Postfix on loopback
#   make bench      the performance table
#   make soak       the long fault run (SOAK_MINUTES=30); not part of check
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
CC ?= cc
PKGS := glib-2.0 gmime-3.0 libcurl sqlite3 libxml-2.0
PKGS += libpq

WARN := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Werror
OPT ?= -O2 -g
SAN ?=
CFLAGS_ALL = $(WARN) $(OPT) $(SAN) $(shell pkg-config --cflags $(PKGS)) -Icore $(CFLAGS)
LIBS_ALL = $(shell pkg-config --libs $(PKGS)) $(LDLIBS)

CORE_SRC := $(wildcard core/*.c)
CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
CLI_SRC := $(wildcard cli/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
MILTER_SRC := $(wildcard milter/*.c)
MILTER_OBJ := $(MILTER_SRC:%.c=$(BUILD)/%.o)
WEB_SRC := $(wildcard web/*.c)
WEB_OBJ := $(WEB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all check demo bench soak install clean deps unit-bins bench-bins fuzz deb check-package

all: $(BUILD)/libcontactcore.a $(BUILD)/contactctl $(if $(MILTER_SRC),$(BUILD)/contact-milter) \
	$(if $(WEB_SRC),$(BUILD)/contact-web)

$(BUILD)/%.o: %.c $(wildcard core/*.h cli/*.h milter/*.h web/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Icli -c $< -o $@

$(BUILD)/libcontactcore.a: $(CORE_OBJ)
	ar rcs $@ $^

$(BUILD)/contactctl: $(CLI_OBJ) $(BUILD)/libcontactcore.a
	$(CC) $(SAN) -o $@ $(CLI_OBJ) $(BUILD)/libcontactcore.a $(LIBS_ALL)

$(BUILD)/contact-milter: $(MILTER_OBJ) $(BUILD)/libcontactcore.a
	$(CC) $(SAN) -o $@ $(MILTER_OBJ) $(BUILD)/libcontactcore.a $(LIBS_ALL) -lmilter -lpthread

# The page daemon: libmicrohttpd's own flags for its files only.
$(WEB_OBJ): CFLAGS_ALL += $(shell pkg-config --cflags libmicrohttpd)
$(BUILD)/contact-web: $(WEB_OBJ) $(BUILD)/libcontactcore.a
	$(CC) $(SAN) -o $@ $(WEB_OBJ) $(BUILD)/libcontactcore.a $(LIBS_ALL) $(shell pkg-config --libs libmicrohttpd) -lpthread

# The page's renderer and states, without HTTP (no libmicrohttpd needed).
WEB_PAGE_OBJ := $(BUILD)/web/render.o $(BUILD)/web/view.o
$(BUILD)/tests/test_web_page: $(BUILD)/tests/web/test_web_page.o $(WEB_PAGE_OBJ) $(BUILD)/libcontactcore.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LIBS_ALL) -lcmocka

$(BUILD)/tests/web/test_web_page.o: CFLAGS_ALL += -Iweb

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libcontactcore.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $< $(BUILD)/libcontactcore.a $(LIBS_ALL) -lcmocka

$(BUILD)/tests/corpus_dump: $(BUILD)/tests/corpus/corpus_dump.o $(BUILD)/libcontactcore.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LIBS_ALL)

$(BUILD)/bench/bench_tool: $(BUILD)/tests/bench/bench_tool.o $(BUILD)/libcontactcore.a
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(LIBS_ALL)

$(BUILD)/bench/ref_milter: $(BUILD)/tests/bench/ref_milter.o
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ -lmilter -lpthread

$(BUILD)/bench/ref_web: $(BUILD)/tests/bench/ref_web.o
	@mkdir -p $(dir $@)
	$(CC) $(SAN) -o $@ $^ $(shell pkg-config --libs libmicrohttpd) -lpthread

$(BUILD)/tests/bench/ref_web.o: CFLAGS_ALL += $(shell pkg-config --cflags libmicrohttpd)

bench-bins: $(BUILD)/bench/bench_tool $(BUILD)/bench/ref_milter $(BUILD)/bench/ref_web

unit-bins: $(UNIT_BIN) $(BUILD)/tests/corpus_dump $(if $(WEB_SRC),$(BUILD)/tests/test_web_page)

# Installs the Debian packages the build and the tests need when run as root.
deps:
	@sh tests/lib/deps.sh

check: deps
	$(MAKE) -j2 BUILD=build/check OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all unit-bins
	@BUILD=build/check sh tests/run.sh

demo: deps all
	@BUILD=build sh tests/demo.sh

bench: deps all bench-bins
	@BUILD=build sh tests/bench/run.sh

# make soak [SOAK_MINUTES=30]: mail, replies, forged bounces and strangers
# through Postfix while the milter is killed and the relay stopped at random.
SOAK_MINUTES ?= 30
soak: deps all
	@BUILD=build SOAK_MINUTES=$(SOAK_MINUTES) sh tests/soak/soak.sh

# make fuzz [FUZZ_SECONDS=N]: libFuzzer over the reply understanding and the
# milter's message assembly, seeded with the in-repository corpus (clang and
# libclang-rt-14-dev).  Crashes land in build/fuzz/.
FUZZ_SECONDS ?= 120
CORPUS ?= tests/corpus/data
fuzz: deps
	$(MAKE) BUILD=build/fuzz CC=clang OPT="-O1 -g" \
		SAN="-fsanitize=fuzzer-no-link,address,undefined" build/fuzz/libcontactcore.a build/fuzz/milter/assemble.o
	clang $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined $(shell pkg-config --cflags $(PKGS)) -Icore -Imilter \
		tests/fuzz/fuzz_reply.c build/fuzz/milter/assemble.o build/fuzz/libcontactcore.a $(LIBS_ALL) \
		-o build/fuzz/fuzz_reply
	mkdir -p build/fuzz/work
	cd build/fuzz && ./fuzz_reply -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -max_len=1048576 \
		-timeout=10 -print_final_stats=1 work $(abspath $(CORPUS))

# make deb: the Debian package (debian/), built from a copy of the tree in
# build/deb-src since dpkg-buildpackage writes its output beside the source;
# the .deb files land in build/.
DEB_SRC := build/deb-src/contact-milter
deb:
	rm -rf build/deb-src && mkdir -p $(DEB_SRC)
	tar --exclude=./build --exclude=./.git --exclude=./tests/corpus/data -cf - . | tar -C $(DEB_SRC) -xf -
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc -b
	rm -f build/contact-milter*.deb
	mv build/deb-src/*.deb build/deb-src/*.buildinfo build/deb-src/*.changes build/

# make check-package: builds the .deb, installs it, checks it and purges it (as root).
check-package: deps deb
	@sh tests/package/package.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/contact-milter/templates
	install -m 755 $(BUILD)/contactctl $(DESTDIR)$(PREFIX)/bin/contactctl
	$(if $(MILTER_SRC),install -m 755 $(BUILD)/contact-milter $(DESTDIR)$(PREFIX)/sbin/contact-milter)
	$(if $(WEB_SRC),install -m 755 $(BUILD)/contact-web $(DESTDIR)$(PREFIX)/sbin/contact-web)
	cp -R config/templates/fr config/templates/en $(DESTDIR)$(PREFIX)/share/contact-milter/templates/
	install -d $(DESTDIR)$(PREFIX)/share/doc/contact-milter
	install -m 644 README.md $(DESTDIR)$(PREFIX)/share/doc/contact-milter/
	sed 's|^dir = /usr/share/contact-milter/templates|dir = $(PREFIX)/share/contact-milter/templates|' \
		config/contact-milter.conf >$(DESTDIR)$(PREFIX)/share/doc/contact-milter/contact-milter.conf
	install -d $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 644 doc/contact-milter.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 doc/contact-milter.8 doc/contactctl.8 doc/contact-web.8 $(DESTDIR)$(PREFIX)/share/man/man8/

clean:
	rm -rf build
