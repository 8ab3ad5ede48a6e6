# The Exim plugin: build/tenantalign_exim.so, loaded by Debian's exim4 through
# local_scan_path and ${dlfunc}. Not linked against Exim: its symbols resolve
# at load time, so every import is checked against /usr/sbin/exim4.
.PHONY: exim
exim: $(BUILD)/tenantalign_exim.so

EXIM_CFLAGS := -std=gnu11 -D_DEFAULT_SOURCE $(OPT) -g -fPIC -fvisibility=hidden \
               -Wall -Wextra -Werror -Wno-unused-parameter -Icommon -I/usr/include/exim4 \
               $(EXTRA_CFLAGS)

$(BUILD)/tenantalign_exim.so: exim/tenantalign_exim.c exim/exports.map $(LIB) $(wildcard common/*.h)
	$(CC) $(EXIM_CFLAGS) $(LDFLAGS) -shared \
	    -Wl,-z,now -Wl,--version-script=exim/exports.map -Wl,--exclude-libs,ALL \
	    -o $@ exim/tenantalign_exim.c $(LIB) $(PKG_LIBS)
	exim/check-imports.sh $@
