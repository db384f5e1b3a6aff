/*
 * libFuzzer harness of the numavm command line (config_parse_argv: the
 * QEMU-style flags in vmm/config_qemu.c and numavm's own options).  The
 * input is split into arguments at NUL and newline bytes; --config is
 * dropped (with its value) so the fuzzer never reads files.  make fuzz
 * seeds it from tests/fuzz_argv.seeds/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz_config.h"

#define MAX_ARGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	char err[CONFIG_ERR_LEN] = "";
	char *argv[MAX_ARGS + 2], *buf, *p, *end;
	int argc = 0, ret;

	buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = (char *)"numavm";
	for (p = buf, end = buf + size; p <= end && argc <= MAX_ARGS;) {
		size_t n = strcspn(p, "\n");

		p[n] = '\0';
		if (!strncmp(p, "--config", 8)) {
			/* "--config FILE": skip the value too */
			if (!p[8] && p + n < end) {
				p += n + 1;
				p += strcspn(p, "\n") + 1;
				continue;
			}
		} else {
			argv[argc++] = p;
		}
		p += n + 1;
	}
	argv[argc] = NULL;
	fuzz_init(&c);
	ret = config_parse_argv(&c, argc, argv, err, sizeof(err));
	fuzz_check_engine(&c, ret, err);
	free(buf);
	return 0;
}
