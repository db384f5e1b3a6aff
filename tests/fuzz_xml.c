/*
 * libFuzzer harness of the libvirt domain XML reader (vmm/config_xml.c via
 * libxml2) and the validation after it.  make fuzz runs it with a corpus
 * seeded from the .xml files of configs/.
 */
#include <stddef.h>
#include <stdint.h>

#include <libxml/parser.h>

#include "tests/fuzz_config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	xmlInitParser();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config c;
	char err[CONFIG_ERR_LEN] = "";
	int ret;

	fuzz_init(&c);
	ret = config_parse_xml(&c, "fuzz.xml", (const char *)data, size, err,
			       sizeof(err));
	if (!ret)
		ret = config_validate(&c, err, sizeof(err));
	fuzz_check_engine(&c, ret, err);
	return 0;
}
