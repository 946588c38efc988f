/* Small helpers shared by the example programs (bitnet-cli, bitnet-bench):
 * a monotonic clock, CPU level names, and loading a YAML file with errors
 * that name the file, line and column. */
#ifndef BITNET_EXAMPLES_EX_COMMON_H
#define BITNET_EXAMPLES_EX_COMMON_H

#include <stddef.h>

#include <bitnet/bitnet.h>

/* Seconds on a monotonic clock. */
double ex_now(void);

/* "auto", "scalar", "avx2", ... to a level. Returns 0, or -1 for an unknown name. */
int ex_parse_cpu_level(const char *name, bn_cpu_level *out);

#ifdef BN_EXAMPLES_HAVE_YAML
#include <yaml.h>

/* Whether a node is YAML's null: a plain ~, null, Null, NULL or nothing. */
int ex_yaml_is_null(const yaml_node_t *node);

/* "a list", "a mapping", "a null" or "a scalar", for error messages. */
const char *ex_yaml_node_kind(const yaml_node_t *node);

/* Parses the first document of a YAML file into *doc (freed with
 * yaml_document_delete). Returns 0, or -1 with "PATH:LINE:COL: problem" or
 * "PATH: cannot open: reason" in err. */
int ex_yaml_load_file(const char *path, yaml_document_t *doc, char *err, size_t cap);
#endif

#endif
