/*
 * The control socket's commands: one table of name -> handler, the argument
 * checks shared by every handler and the policy <-> JSON conversion.  Each
 * handler reads the VM through struct qmp_backend (vmm/qmp.h) and builds the
 * "return" value; the framing, clients and events live in vmm/qmp.c.
 */
#ifndef NUMAVM_VMM_QMP_CMDS_H
#define NUMAVM_VMM_QMP_CMDS_H

#include <stdbool.h>

#include "compiler.h"
#include "vmm/qmp.h"

struct json_object;

/*
 * qmp_dispatch - execute one request (any JSON value) for a client whose
 * negotiation state is *negotiated (set by qmp_capabilities).  Returns the
 * reply ({"return": ...} or {"error": ...}, with "id" echoed), or NULL if
 * memory ran out.  The caller owns the reply.
 */
struct json_object *qmp_dispatch(const struct qmp_backend *be,
				 struct json_object *req,
				 bool *negotiated) __must_check;

/* {"error": {"class": @cls, "desc": ...}} or NULL if out of memory */
struct json_object *qmp_error_reply(const char *cls, const char *fmt, ...)
	__printf(2, 3) __must_check;

/* The greeting sent to each new client */
struct json_object *qmp_greeting(void) __must_check;

/* Names used on the wire: "interleave", "weighted-interleave", ... */
const char *qmp_mode_name(enum mpol_mode mode);
/* Returns 0 and stores the mode, or -EINVAL for an unknown name. */
int qmp_mode_parse(const char *name, enum mpol_mode *mode);

/* Policy as JSON {"mode", "nodes", "flags", "weights"}; NULL if no memory */
struct json_object *qmp_policy_to_json(const struct mpol_spec *spec)
	__must_check;
/*
 * qmp_policy_from_json - type checks only (the engine validates the
 * semantics).  Returns 0, or -EINVAL with a message in @err.
 */
int qmp_policy_from_json(struct json_object *obj, struct mpol_spec *spec,
			 char *err, size_t errlen);

#endif /* NUMAVM_VMM_QMP_CMDS_H */
