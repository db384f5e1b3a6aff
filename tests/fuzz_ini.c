/*
 * libFuzzer harness of the native INI config reader (vmm/config_ini.c via
 * inih) and the validation after it.  make fuzz runs it with a corpus
 * seeded from the .ini files of configs/.
 */
#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	char err[CONFIG_ERR_LEN] = "";
	int ret;

	fuzz_init(&c);
	ret = config_parse_ini(&c, "fuzz.ini", (const char *)data, size, err,
			       sizeof(err));
	if (!ret)
		ret = config_validate(&c, err, sizeof(err));
	fuzz_check_engine(&c, ret, err);
	return 0;
}
