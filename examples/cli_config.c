/* bitnet-cli --config FILE.yaml: presets as a flat YAML mapping whose keys are
 * the option keys of cli_options.c, for example
 *
 *     model: models/bitnet-shakespeare-i2s.gguf
 *     n_predict: 200
 *     temp: 0.7
 *     conversation: true
 *
 * Every error names the file, line and column. */
#include <stdio.h>

#include "cli.h"
#include "ex_common.h"

#ifdef BN_EXAMPLES_HAVE_YAML

static int apply_document(cli_settings *s, const char *path, yaml_document_t *doc, char *err, size_t cap)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root)
        return 0; /* an empty file sets nothing */
    if (root->type != YAML_MAPPING_NODE) {
        snprintf(err, cap, "%s:%zu:%zu: expected a mapping of settings (key: value), found %s", path,
                 root->start_mark.line + 1, root->start_mark.column + 1, ex_yaml_node_kind(root));
        return -1;
    }
    for (yaml_node_pair_t *pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = yaml_document_get_node(doc, pair->key);
        yaml_node_t *value = yaml_document_get_node(doc, pair->value);
        if (!key || !value)
            continue;
        if (key->type != YAML_SCALAR_NODE) {
            snprintf(err, cap, "%s:%zu:%zu: a setting's key must be a name, found %s", path,
                     key->start_mark.line + 1, key->start_mark.column + 1, ex_yaml_node_kind(key));
            return -1;
        }
        const char *name = (const char *)key->data.scalar.value;
        const cli_option *opt = cli_option_by_key(name);
        if (!opt) {
            snprintf(err, cap, "%s:%zu:%zu: unknown setting '%s' (bitnet-cli --help lists the keys)", path,
                     key->start_mark.line + 1, key->start_mark.column + 1, name);
            return -1;
        }
        if (value->type != YAML_SCALAR_NODE) {
            snprintf(err, cap, "%s:%zu:%zu: '%s' needs a single value, found %s", path,
                     value->start_mark.line + 1, value->start_mark.column + 1, name, ex_yaml_node_kind(value));
            return -1;
        }
        char why[256];
        if (cli_option_set(s, opt, (const char *)value->data.scalar.value, why, sizeof why) != 0) {
            snprintf(err, cap, "%s:%zu:%zu: %s: %s", path, value->start_mark.line + 1,
                     value->start_mark.column + 1, name, why);
            return -1;
        }
    }
    return 0;
}

int cli_config_load(cli_settings *s, const char *path, char *err, size_t cap)
{
    yaml_document_t doc;
    if (ex_yaml_load_file(path, &doc, err, cap) != 0)
        return -1;
    int rc = apply_document(s, path, &doc, err, cap);
    yaml_document_delete(&doc);
    return rc;
}

#else

int cli_config_load(cli_settings *s, const char *path, char *err, size_t cap)
{
    (void)s;
    snprintf(err, cap, "%s: this bitnet-cli was built without libyaml, so --config is unavailable "
             "(install libyaml-dev and rebuild)", path);
    return -1;
}

#endif
