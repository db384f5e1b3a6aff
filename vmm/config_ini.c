/*
 * The native config format: an INI file read with inih (Debian's
 * libinih), sections [machine], [node N], [vcpu LIST], [range START-END],
 * [host], [memory] and [socket]; docs/config.md lists every key.  Debian
 * builds inih without INI_HANDLER_LINENO, so the handler is not told the
 * line: we feed inih through ini_parse_stream() with our own reader, which
 * hands it one whole line at a time and counts them, so the handler's line
 * is always the reader's count.  The reader also refuses what inih would
 * silently mangle (NUL bytes, lines or section names longer than inih's
 * buffers).  Keys may appear once; policy sections are collected and applied
 * once the whole file is read, so their keys may come in any order.
 */
#include "vmm/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INI_SECTION_MAX	50		/* inih's MAX_SECTION */
#define INI_MAX_KEYS	1024		/* key = value lines per file */
#define INI_MAX_POLS	(NUMA_MAX_VCPUS + CONFIG_MAX_RANGES + 1)

enum ini_pol_kind {
	POL_VCPU,
	POL_RANGE,
	POL_HOST,
};

/* Keys of a policy section, as bits */
#define PK_MODE		(1U << 0)
#define PK_NODES	(1U << 1)
#define PK_WEIGHTS	(1U << 2)
#define PK_FLAGS	(1U << 3)

/* A [vcpu LIST], [range ...] or [host] section, applied at the end */
struct ini_pol {
	char section[INI_SECTION_MAX];
	enum ini_pol_kind kind;
	uint64_t vcpus;
	gpa_t start;
	uint64_t size;
	unsigned int keys;
	int line;			/* first key */
	struct mpol_spec spec;
};

/* What the file said about one node, for checks at the end */
struct ini_node {
	int line;			/* first key */
	int mem_line;
	int dist_line;
	unsigned int dist_len;
};

struct ini_key {
	char section[INI_SECTION_MAX + 16];	/* canonical */
	char name[32];
	int line;
};

struct ini_state {
	struct config *c;
	const char *name;
	const char *buf;
	size_t size, pos;
	int line;			/* lines handed to inih so far */
	int err_line;			/* line of our first error, 0 = none */
	int ret;
	char *err;
	size_t len;
	unsigned int nr_keys;
	struct ini_key keys[INI_MAX_KEYS];
	unsigned int nr_pols;
	struct ini_pol pols[INI_MAX_POLS];
	struct ini_node nodes[NUMA_MAX_NODES];
};

/* Record the first error, at the current line */
static int __printf(2, 3) ini_fail(struct ini_state *s, const char *fmt, ...)
{
	char msg[CONFIG_ERR_LEN];
	va_list ap;

	if (s->err_line)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->err_line = s->line;
	s->ret = -EINVAL;
	snprintf(s->err, s->len, "%s:%d: %s", s->name, s->line, msg);
	return 0;
}

/*
 * The ini_reader: one line per call, counted.  Refuses (ends the parse
 * with an error) a NUL byte, a line longer than inih's buffer and a section
 * header longer than inih's section buffer, which inih would truncate.
 */
static char *ini_read_line(char *str, int num, void *stream)
{
	struct ini_state *s = stream;
	const char *p, *nl, *q;
	size_t n;

	if (s->err_line || s->pos >= s->size)
		return NULL;
	p = s->buf + s->pos;
	nl = memchr(p, '\n', s->size - s->pos);
	n = nl ? (size_t)(nl - p) + 1 : s->size - s->pos;
	s->line++;
	if (memchr(p, '\0', n)) {
		ini_fail(s, "NUL byte in the file");
		return NULL;
	}
	/* up to num - 3 characters, plus the newline and the NUL */
	if (num < 3 || n - (nl ? 1 : 0) > (size_t)num - 3) {
		ini_fail(s, "line is longer than %d characters", num - 3);
		return NULL;
	}
	for (q = p; q < p + n && (*q == ' ' || *q == '\t'); q++)
		;
	if (q < p + n && *q == '[') {
		const char *close = memchr(q, ']', (size_t)(p + n - q));

		if (close && close - q - 1 >= INI_SECTION_MAX) {
			ini_fail(s, "section name is longer than %d characters",
				 INI_SECTION_MAX - 1);
			return NULL;
		}
	}
	memcpy(str, p, n);
	str[n] = '\0';
	s->pos += n;
	return str;
}

/*
 * Split "node 0", "node0", "vcpu \"0-3\"" into the word and its argument
 * (blanks trimmed, one pair of double quotes removed).  Returns false if
 * the name does not start with a letter.
 */
static bool split_section(const char *section, char *word, size_t wlen,
			  char *arg, size_t alen)
{
	const char *p = section, *a;
	size_t n = 0, m;

	while (isspace((unsigned char)*p))
		p++;
	while (isalpha((unsigned char)p[n]) && n + 1 < wlen)
		n++;
	if (!n)
		return false;
	memcpy(word, p, n);
	word[n] = '\0';
	a = p + n;
	while (isspace((unsigned char)*a))
		a++;
	m = strlen(a);
	while (m && isspace((unsigned char)a[m - 1]))
		m--;
	if (m >= 2 && a[0] == '"' && a[m - 1] == '"') {
		a++;
		m -= 2;
	}
	if (m >= alen)
		m = alen - 1;
	memcpy(arg, a, m);
	arg[m] = '\0';
	return true;
}

/*
 * Each (section, key) once.  Sections are compared in a canonical form, so
 * [node0], [Node 0] and [node "00"] are the same section; two spellings of
 * a vCPU list or a range are different sections, whose overlap the policy
 * checks catch.
 */
static bool ini_dup_key(struct ini_state *s, const char *section,
			const char *word, const char *arg, const char *name)
{
	char canon[INI_SECTION_MAX + 16], msg[CONFIG_ERR_LEN];
	struct ini_key *k;
	unsigned int i;
	uint32_t id;

	if (!strcasecmp(word, "node") &&
	    !config_parse_u32(arg, 0, NUMA_MAX_NODES - 1, &id, msg,
			      sizeof(msg)))
		snprintf(canon, sizeof(canon), "node %u", id);
	else
		snprintf(canon, sizeof(canon), "%s%s%s", word, *arg ? " " : "",
			 arg);
	for (i = 0; canon[i]; i++)
		canon[i] = (char)tolower((unsigned char)canon[i]);
	for (i = 0; i < s->nr_keys; i++) {
		k = &s->keys[i];
		if (!strcmp(k->section, canon) && !strcasecmp(k->name, name)) {
			ini_fail(s, "[%s] %s: set twice (first at line %d)",
				 section, name, k->line);
			return true;
		}
	}
	if (s->nr_keys == INI_MAX_KEYS) {
		ini_fail(s, "too many settings (at most %d)", INI_MAX_KEYS);
		return true;
	}
	k = &s->keys[s->nr_keys++];
	snprintf(k->section, sizeof(k->section), "%s", canon);
	snprintf(k->name, sizeof(k->name), "%s", name);
	k->line = s->line;
	return false;
}

static void origin(struct ini_state *s, char *buf, int line)
{
	snprintf(buf, CONFIG_ORIGIN_LEN, "%s:%d", s->name, line);
}

static int ini_machine(struct ini_state *s, const char *sec, const char *key,
		       const char *val)
{
	struct config *c = s->c;
	char msg[CONFIG_ERR_LEN];
	uint32_t u;

	if (!strcasecmp(key, "memory")) {
		if (config_parse_size(val, 1, &c->ram_size, msg, sizeof(msg)))
			return ini_fail(s, "[%s] memory: %s", sec, msg);
		if (!c->ram_size)
			return ini_fail(s, "[%s] memory: must not be 0", sec);
		origin(s, c->where.ram, s->line);
	} else if (!strcasecmp(key, "vcpus")) {
		if (config_parse_u32(val, 1, NUMA_MAX_VCPUS, &u, msg,
				     sizeof(msg)))
			return ini_fail(s, "[%s] vcpus: %s", sec, msg);
		c->nr_vcpus = u;
		origin(s, c->where.vcpus, s->line);
	} else if (!strcasecmp(key, "image")) {
		if (!*val || strlen(val) >= sizeof(c->image))
			return ini_fail(s, "[%s] image: path must be 1..%d "
					"bytes", sec, CONFIG_PATH_MAX - 1);
		snprintf(c->image, sizeof(c->image), "%s", val);
	} else if (!strcasecmp(key, "cmdline")) {
		if (strlen(val) >= sizeof(c->cmdline))
			return ini_fail(s, "[%s] cmdline: longer than %d bytes",
					sec, CONFIG_PATH_MAX - 1);
		snprintf(c->cmdline, sizeof(c->cmdline), "%s", val);
	} else if (!strcasecmp(key, "timeout")) {
		if (config_parse_u32(val, 0, CONFIG_MAX_TIMEOUT, &u, msg,
				     sizeof(msg)))
			return ini_fail(s, "[%s] timeout: %s", sec, msg);
		c->timeout = u;
	} else {
		return ini_fail(s, "[%s] unknown key '%s' (memory, vcpus, "
				"image, cmdline, timeout)", sec, key);
	}
	return 1;
}

static int ini_node(struct ini_state *s, const char *sec, const char *arg,
		    const char *key, const char *val)
{
	struct config *c = s->c;
	char msg[CONFIG_ERR_LEN], org[CONFIG_ORIGIN_LEN];
	struct ini_node *in;
	uint64_t m;
	uint32_t id;

	if (config_parse_u32(arg, 0, NUMA_MAX_NODES - 1, &id, msg,
			     sizeof(msg)))
		return ini_fail(s, "[%s]: bad node number: %s", sec, msg);
	in = &s->nodes[id];
	if (!in->line)
		in->line = s->line;
	origin(s, org, in->line);
	if (config_declare_node(c, id, org, msg, sizeof(msg)))
		return ini_fail(s, "[%s]: %s", sec, msg);

	if (!strcasecmp(key, "memory")) {
		if (config_parse_size(val, 1, &c->topo.node_mem[id], msg,
				      sizeof(msg)))
			return ini_fail(s, "[%s] memory: %s", sec, msg);
		in->mem_line = s->line;
	} else if (!strcasecmp(key, "cpus")) {
		if (config_parse_list(val, NUMA_MAX_VCPUS, &m, msg,
				      sizeof(msg)))
			return ini_fail(s, "[%s] cpus: %s", sec, msg);
		c->node_cpus[id] = m;
	} else if (!strcasecmp(key, "host-nodes")) {
		if (config_parse_list(val, 64, &m, msg, sizeof(msg)))
			return ini_fail(s, "[%s] host-nodes: %s", sec, msg);
		if (!m)
			return ini_fail(s, "[%s] host-nodes: empty set", sec);
		c->topo.host_nodes[id] = m;
	} else if (!strcasecmp(key, "host-policy")) {
		enum mpol_mode mode;

		if (config_parse_mode(val, &mode, msg, sizeof(msg)))
			return ini_fail(s, "[%s] host-policy: %s", sec, msg);
		if (mode != MPOL_BIND && mode != MPOL_PREFERRED &&
		    mode != MPOL_INTERLEAVE)
			return ini_fail(s, "[%s] host-policy: '%s' must be bind, "
					"preferred or interleave", sec, val);
		c->host_mode[id] = mode;
	} else if (!strcasecmp(key, "distances")) {
		const char *p = val;
		unsigned int j = 0;

		for (;;) {
			char word[16];
			size_t n = strcspn(p, ",");
			uint32_t d;

			while (n && isspace((unsigned char)*p)) {
				p++;
				n--;
			}
			if (j >= NUMA_MAX_NODES)
				return ini_fail(s, "[%s] distances: more than "
						"%d values", sec,
						NUMA_MAX_NODES);
			if (!n || n >= sizeof(word))
				return ini_fail(s, "[%s] distances: bad list "
						"'%s': expected one distance "
						"per node, like 10,20", sec,
						val);
			memcpy(word, p, n);
			word[n] = '\0';
			while (n && isspace((unsigned char)word[n - 1]))
				word[--n] = '\0';
			if (config_parse_u32(word, 0, 255, &d, msg,
					     sizeof(msg)))
				return ini_fail(s, "[%s] distances: %s", sec,
						msg);
			c->topo.distance[id][j] = (uint8_t)d;
			c->dist_set[id] |= 1U << j;
			j++;
			p += strcspn(p, ",");
			if (!*p)
				break;
			p++;
		}
		in->dist_line = s->line;
		in->dist_len = j;
	} else {
		return ini_fail(s, "[%s] unknown key '%s' (memory, cpus, "
				"host-nodes, host-policy, distances)", sec,
				key);
	}
	return 1;
}

/* Find or start the policy section @sec */
static struct ini_pol *ini_pol_get(struct ini_state *s, const char *sec)
{
	struct ini_pol *p;
	unsigned int i;

	for (i = 0; i < s->nr_pols; i++)
		if (!strcmp(s->pols[i].section, sec))
			return &s->pols[i];
	if (s->nr_pols == INI_MAX_POLS) {
		ini_fail(s, "[%s]: too many policy sections (at most %d)", sec,
			 INI_MAX_POLS);
		return NULL;
	}
	p = &s->pols[s->nr_pols++];
	memset(p, 0, sizeof(*p));
	snprintf(p->section, sizeof(p->section), "%s", sec);
	p->line = s->line;
	return p;
}

/* "START-END" (END exclusive) or "START+SIZE", sizes with suffixes */
static int parse_range(const char *arg, gpa_t *start, uint64_t *size,
		       char *msg, size_t len)
{
	char a[INI_SECTION_MAX];
	size_t n = strcspn(arg, "+-");
	uint64_t end;
	char sep;

	if (!arg[n] || n >= sizeof(a)) {
		snprintf(msg, len, "bad range '%s': expected START-END or "
			 "START+SIZE", arg);
		return -EINVAL;
	}
	sep = arg[n];
	memcpy(a, arg, n);
	a[n] = '\0';
	if (config_parse_size(a, 1, start, msg, len) ||
	    config_parse_size(arg + n + 1, 1, sep == '+' ? size : &end, msg,
			      len))
		return -EINVAL;
	if (sep == '-') {
		if (end <= *start) {
			snprintf(msg, len, "bad range '%s': end is not above "
				 "start", arg);
			return -EINVAL;
		}
		*size = end - *start;
	}
	return 0;
}

static int ini_policy(struct ini_state *s, enum ini_pol_kind kind,
		      const char *sec, const char *arg, const char *key,
		      const char *val)
{
	char msg[CONFIG_ERR_LEN];
	struct ini_pol *p;
	uint64_t m;

	p = ini_pol_get(s, sec);
	if (!p)
		return 0;
	p->kind = kind;
	if (kind == POL_VCPU && !p->vcpus &&
	    config_parse_list(arg, NUMA_MAX_VCPUS, &p->vcpus, msg,
			      sizeof(msg)))
		return ini_fail(s, "[%s]: bad vCPU list: %s", sec, msg);
	if (kind == POL_VCPU && !p->vcpus)
		return ini_fail(s, "[%s]: empty vCPU list", sec);
	if (kind == POL_RANGE && !p->size &&
	    parse_range(arg, &p->start, &p->size, msg, sizeof(msg)))
		return ini_fail(s, "[%s]: %s", sec, msg);

	if (!strcasecmp(key, "mode")) {
		if (config_parse_mode(val, &p->spec.mode, msg, sizeof(msg)))
			return ini_fail(s, "[%s] mode: %s", sec, msg);
		p->keys |= PK_MODE;
	} else if (!strcasecmp(key, "nodes")) {
		if (config_parse_list(val, NUMA_MAX_NODES, &m, msg,
				      sizeof(msg)))
			return ini_fail(s, "[%s] nodes: %s", sec, msg);
		p->spec.nodes = (nodemask_t)m;
		p->keys |= PK_NODES;
	} else if (!strcasecmp(key, "weights")) {
		if (config_parse_weights(val, &p->spec, msg, sizeof(msg)))
			return ini_fail(s, "[%s] weights: %s", sec, msg);
		p->keys |= PK_WEIGHTS;
	} else if (!strcasecmp(key, "flags")) {
		if (config_parse_flags(val, &p->spec.flags, msg, sizeof(msg)))
			return ini_fail(s, "[%s] flags: %s", sec, msg);
		p->keys |= PK_FLAGS;
	} else {
		return ini_fail(s, "[%s] unknown key '%s' (mode, nodes, "
				"weights, flags)", sec, key);
	}
	return 1;
}

static int ini_memory(struct ini_state *s, const char *sec, const char *key,
		      const char *val)
{
	struct config *c = s->c;
	char msg[CONFIG_ERR_LEN];
	uint32_t u;

	if (!strcasecmp(key, "granularity")) {
		if (config_parse_granule(val, &c->granule, msg, sizeof(msg)))
			return ini_fail(s, "[%s] granularity: %s", sec, msg);
		origin(s, c->where.granule, s->line);
	} else if (!strcasecmp(key, "fault-around")) {
		if (config_parse_u32(val, 0, CONFIG_MAX_FAULT_AROUND, &u, msg,
				     sizeof(msg)))
			return ini_fail(s, "[%s] fault-around: %s", sec, msg);
		c->fault_around = u;
		origin(s, c->where.fault_around, s->line);
	} else if (!strcasecmp(key, "prealloc")) {
		if (config_parse_bool(val, &c->prealloc, msg, sizeof(msg)))
			return ini_fail(s, "[%s] prealloc: %s", sec, msg);
	} else if (!strcasecmp(key, "thp")) {
		if (config_parse_bool(val, &c->thp, msg, sizeof(msg)))
			return ini_fail(s, "[%s] thp: %s", sec, msg);
	} else if (!strcasecmp(key, "oom")) {
		if (config_parse_oom(val, &c->oom, msg, sizeof(msg)))
			return ini_fail(s, "[%s] oom: %s", sec, msg);
	} else if (!strcasecmp(key, "placement")) {
		if (config_parse_bool(val, &c->placement, msg, sizeof(msg)))
			return ini_fail(s, "[%s] placement: %s", sec, msg);
	} else {
		return ini_fail(s, "[%s] unknown key '%s' (granularity, "
				"fault-around, prealloc, thp, oom)", sec, key);
	}
	return 1;
}

static int ini_socket(struct ini_state *s, const char *sec, const char *key,
		      const char *val)
{
	if (strcasecmp(key, "path"))
		return ini_fail(s, "[%s] unknown key '%s' (path)", sec, key);
	if (!*val || strlen(val) >= CONFIG_SOCKET_MAX)
		return ini_fail(s, "[%s] path: must be 1..%d bytes", sec,
				CONFIG_SOCKET_MAX - 1);
	snprintf(s->c->socket, sizeof(s->c->socket), "%s", val);
	return 1;
}

static int ini_on_key(void *user, const char *section, const char *name,
		       const char *value)
{
	struct ini_state *s = user;
	char word[16], arg[INI_SECTION_MAX];
	const char *sec = section;

	if (s->err_line)
		return 0;
	if (!*section)
		return ini_fail(s, "'%s' is outside any section", name);
	if (!split_section(section, word, sizeof(word), arg, sizeof(arg)))
		goto unknown;
	if (ini_dup_key(s, section, word, arg, name))
		return 0;
	if (!strcasecmp(word, "machine") && !*arg)
		return ini_machine(s, sec, name, value);
	if (!strcasecmp(word, "node"))
		return ini_node(s, sec, arg, name, value);
	if (!strcasecmp(word, "vcpu"))
		return ini_policy(s, POL_VCPU, sec, arg, name, value);
	if (!strcasecmp(word, "range"))
		return ini_policy(s, POL_RANGE, sec, arg, name, value);
	if (!strcasecmp(word, "host") && !*arg)
		return ini_policy(s, POL_HOST, sec, arg, name, value);
	if (!strcasecmp(word, "memory") && !*arg)
		return ini_memory(s, sec, name, value);
	if (!strcasecmp(word, "socket") && !*arg)
		return ini_socket(s, sec, name, value);
unknown:
	return ini_fail(s, "unknown section [%s] (machine, node N, vcpu LIST, "
			"range START-END, host, memory, socket)", section);
}

/* After the whole file: what needs every section seen */
static int ini_finish(struct ini_state *s)
{
	struct config *c = s->c;
	char msg[CONFIG_ERR_LEN], org[CONFIG_ORIGIN_LEN];
	unsigned int i;

	for (i = 0; i < NUMA_MAX_NODES; i++) {
		struct ini_node *in = &s->nodes[i];

		if (!in->line)
			continue;
		if (!in->mem_line) {
			s->line = in->line;
			return ini_fail(s, "[node %u]: 'memory' is required (0 "
					"for a memoryless node)", i);
		}
		if (in->dist_line && in->dist_len != c->topo.nr_nodes) {
			s->line = in->dist_line;
			return ini_fail(s, "[node %u] distances: %u values, but "
					"there are %u nodes", i, in->dist_len,
					c->topo.nr_nodes);
		}
	}
	for (i = 0; i < s->nr_pols; i++) {
		struct ini_pol *p = &s->pols[i];
		int ret = 0;

		s->line = p->line;
		if (!(p->keys & PK_MODE))
			return ini_fail(s, "[%s]: 'mode' is required",
					p->section);
		origin(s, org, p->line);
		switch (p->kind) {
		case POL_VCPU:
			ret = config_set_vcpu_policy(c, p->vcpus, &p->spec, org,
						     msg, sizeof(msg));
			break;
		case POL_RANGE:
			ret = config_add_range(c, p->start, p->size, &p->spec,
					       org, msg, sizeof(msg));
			break;
		case POL_HOST:
			c->host_pol = p->spec;
			snprintf(c->where.host_pol, CONFIG_ORIGIN_LEN, "%s",
				 org);
			break;
		}
		if (ret)
			return ini_fail(s, "[%s]: %s", p->section, msg);
	}
	return 0;
}

int config_parse_ini(struct config *c, const char *name, const char *buf,
		     size_t size, char *err, size_t len)
{
	struct ini_state *s;
	int line, ret;

	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, len, "%s: out of memory", name);
		return -ENOMEM;
	}
	s->c = c;
	s->name = name;
	s->buf = buf;
	s->size = size;
	s->err = err;
	s->len = len;

	line = ini_parse_stream(ini_read_line, s, ini_on_key, s);
	if (line > 0 && (!s->err_line || line < s->err_line)) {
		snprintf(err, len, "%s:%d: syntax error: expected [section] or "
			 "key = value", name, line);
		ret = -EINVAL;
		goto out;
	}
	if (line < 0 && !s->err_line) {
		snprintf(err, len, "%s: inih failed (%d)", name, line);
		ret = -EIO;
		goto out;
	}
	if (!s->err_line)
		ini_finish(s);
	ret = s->ret;
out:
	free(s);
	return ret;
}
