/* Helpers shared by the example programs: see ex_common.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ex_common.h"

double ex_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int ex_parse_cpu_level(const char *name, bn_cpu_level *out)
{
    for (int l = BN_CPU_AUTO; l <= BN_CPU_DOTPROD; l++) {
        if (strcmp(name, bn_cpu_level_name((bn_cpu_level)l)) == 0) {
            *out = (bn_cpu_level)l;
            return 0;
        }
    }
    return -1;
}

#ifdef BN_EXAMPLES_HAVE_YAML

int ex_yaml_is_null(const yaml_node_t *node)
{
    if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
        if (!strcmp((const char *)node->data.scalar.value, nulls[i]))
            return 1;
    return 0;
}

const char *ex_yaml_node_kind(const yaml_node_t *node)
{
    switch (node->type) {
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return ex_yaml_is_null(node) ? "a null" : "a scalar";
    }
}

int ex_yaml_load_file(const char *path, yaml_document_t *doc, char *err, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, cap, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        snprintf(err, cap, "%s: out of memory", path);
        return -1;
    }
    yaml_parser_set_input_file(&parser, f);
    int rc = 0;
    if (!yaml_parser_load(&parser, doc)) {
        snprintf(err, cap, "%s:%zu:%zu: %s%s%s", path, parser.problem_mark.line + 1,
                 parser.problem_mark.column + 1, parser.problem ? parser.problem : "invalid YAML",
                 parser.context ? " " : "", parser.context ? parser.context : "");
        rc = -1;
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}

#endif
