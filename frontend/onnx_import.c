/* ONNX import: decode the ModelProto with protobuf-c, then build the graph: initializers
 * and Constant nodes become constant values, graph inputs get their shapes (symbolic
 * dimensions fixed by the user or defaulted), nodes get their ops and raw attributes.
 * Every unsupported op is reported in one message so a user learns the whole gap at once. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "frontend.h"
#include "onnx.pb-c.h"

#define MAX_NODES 1000000
#define MAX_FILE_BYTES ((long)1 << 31)      /* protobuf's own 2 GiB message limit */

/* Names to values: open addressing, sized once (the number of names is known up front). */
typedef struct {
    Value **slot;
    size_t cap;
} NameMap;

static size_t hash_name(const char *s)
{
    size_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

static Value **map_find(NameMap *m, const char *name)
{
    size_t i = hash_name(name) & (m->cap - 1);
    while (m->slot[i] && strcmp(m->slot[i]->name, name) != 0)
        i = (i + 1) & (m->cap - 1);
    return &m->slot[i];
}

typedef struct {
    Graph *g;
    Diag *d;
    NameMap names;
    const char *dir;
    const ImportOptions *opt;
} Importer;

static bool read_file(const char *path, uint8_t **data, size_t *len, Diag *d)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return diag_error(d, "cannot read: not a regular file");
    FILE *f = fopen(path, "rb");
    if (!f)
        return diag_error(d, "cannot open: %s", strerror(errno));
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return diag_error(d, "cannot read: not a regular file");
    }
    if (size == 0 || size > MAX_FILE_BYTES) {
        fclose(f);
        return diag_error(d, size ? "the file is larger than 2 GiB; store the weights as "
                          "external data" : "the file is empty");
    }
    *data = malloc((size_t)size);
    if (!*data || fread(*data, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        free(*data);
        return diag_error(d, "cannot read %ld bytes", size);
    }
    fclose(f);
    *len = (size_t)size;
    return true;
}

static bool define(Importer *im, Value *v)
{
    Value **s = map_find(&im->names, v->name);
    if (*s)
        return diag_error(im->d, "the name '%s' is defined twice", v->name);
    *s = v;
    return true;
}

static const ShapeOverride *find_override(Importer *im, const char *name, int index)
{
    for (int i = 0; i < im->opt->nshapes; i++) {
        const ShapeOverride *s = &im->opt->shapes[i];
        if (s->name ? strcmp(s->name, name) == 0 : index == 0)
            return s;
    }
    return NULL;
}

static bool import_input(Importer *im, const Onnx__ValueInfoProto *vi, int index)
{
    const char *name = vi->name ? vi->name : "";
    const Onnx__TypeProto *tp = vi->type;
    const ShapeOverride *ov = find_override(im, name, index);
    Value *v = graph_add_value(im->g, name);
    DType dt;
    if (!v)
        return diag_error(im->d, "out of memory");
    v->kind = VAL_INPUT;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return diag_error(im->d, "graph input '%s' is not a tensor", name);
    if (!onnx_dtype(tp->tensor_type->elem_type, &dt) || dt != DT_F32)
        return diag_error(im->d, "graph input '%s' has ONNX type %d; only float32 inputs are "
                          "supported", name, tp->tensor_type->elem_type);
    v->dtype = DT_F32;
    const Onnx__TensorShapeProto *sh = tp->tensor_type->shape;
    if (ov) {
        if (sh && (int)sh->n_dim != ov->rank)
            return diag_error(im->d, "--input-shape for '%s' has rank %d, the model's input "
                              "has rank %zu", name, ov->rank, sh->n_dim);
        v->rank = ov->rank;
        memcpy(v->dims, ov->dims, sizeof v->dims);
    } else {
        if (!sh)
            return diag_error(im->d, "graph input '%s' has no shape; give one with "
                              "--input-shape %s=1x3x224x224", name, name);
        if (sh->n_dim > CNNC_MAX_RANK)
            return diag_error(im->d, "graph input '%s' has rank %zu, at most %d is supported",
                              name, sh->n_dim, CNNC_MAX_RANK);
        v->rank = (int)sh->n_dim;
        for (size_t i = 0; i < sh->n_dim; i++) {
            const Onnx__TensorShapeProto__Dimension *dm = sh->dim[i];
            if (dm->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
                v->dims[i] = dm->dim_value;
            } else {            /* symbolic or unknown: a batch of one unless told */
                v->dims[i] = 1;
                if (im->opt->verbose)
                    fprintf(stderr, "cnnc: input '%s' dimension %zu ('%s') set to 1; use "
                            "--input-shape to choose\n", name, i,
                            dm->value_case ? dm->dim_param : "?");
            }
        }
    }
    for (int i = 0; i < v->rank; i++)
        if (v->dims[i] < 1 || v->dims[i] > CNNC_MAX_DIM)
            return diag_error(im->d, "graph input '%s' has dimension %lld, out of range", name,
                              (long long)v->dims[i]);
    if (value_numel(v) > CNNC_MAX_ELEMS || value_numel(v) <= 0)
        return diag_error(im->d, "graph input '%s' is too large", name);
    return define(im, v);
}

static bool import_attrs(Importer *im, Node *n, const Onnx__NodeProto *np)
{
    n->nattrs = (int)np->n_attribute;
    n->attrs = ARENA_ARRAY(&im->g->arena, Attr, n->nattrs ? n->nattrs : 1);
    if (!n->attrs)
        return diag_error(im->d, "out of memory");
    for (int i = 0; i < n->nattrs; i++) {
        const Onnx__AttributeProto *ap = np->attribute[i];
        Attr *a = &n->attrs[i];
        a->name = arena_strdup(&im->g->arena, ap->name ? ap->name : "");
        /* Old files may leave `type` unset; then the field that is present decides. */
        int type = ap->has_type ? (int)ap->type
                 : ap->n_ints ? 7 : ap->n_floats ? 6 : ap->t ? 4 : ap->has_s ? 3
                 : ap->has_i ? 2 : ap->has_f ? 1 : 0;
        switch (type) {
        case 1: a->kind = ATTR_FLOAT; a->f = ap->f; break;
        case 2: a->kind = ATTR_INT; a->i = ap->i; break;
        case 3: {
            char *s = arena_alloc(&im->g->arena, ap->s.len + 1);
            if (!s)
                return diag_error(im->d, "out of memory");
            if (ap->s.len)
                memcpy(s, ap->s.data, ap->s.len);
            a->kind = ATTR_STRING;
            a->s = s;
            break;
        }
        case 4:
            a->kind = ATTR_TENSOR;
            if (!ap->t)
                return diag_node(im->d, n, "attribute '%s' has no tensor", a->name);
            a->t = tensor_import(im->g, ap->t, n->name, im->dir, im->d);
            if (!a->t)
                return false;
            break;
        case 6: case 7: {
            /* The decoded message is freed after import: lists are copied into the graph. */
            size_t cnt = type == 6 ? ap->n_floats : ap->n_ints, size = type == 6 ? 4 : 8;
            void *copy;
            if (cnt > 1 << 20)
                return diag_node(im->d, n, "attribute '%s' is too long", a->name);
            copy = arena_alloc(&im->g->arena, cnt * size + 1);
            if (!copy)
                return diag_error(im->d, "out of memory");
            if (cnt)
                memcpy(copy, type == 6 ? (void *)ap->floats : (void *)ap->ints, cnt * size);
            a->kind = type == 6 ? ATTR_FLOATS : ATTR_INTS;
            a->floats = copy;
            a->ints = copy;
            a->n = (int)cnt;
            break;
        }
        default: a->kind = ATTR_OTHER; break;
        }
    }
    return true;
}

/* A Constant node is a constant value under its output's name; no node remains. */
static bool import_constant(Importer *im, const Onnx__NodeProto *np, Node *tmp)
{
    const char *out = np->n_output ? np->output[0] : "";
    Value *v = NULL;
    for (int i = 0; i < tmp->nattrs && !v; i++) {
        const Attr *a = &tmp->attrs[i];
        int64_t one = 1, cnt = a->n;
        if (strcmp(a->name, "value") == 0 && a->kind == ATTR_TENSOR) {
            v = graph_add_constant(im->g, out, a->t->dtype, a->t->rank, a->t->dims);
            if (v)
                memcpy(v->data, a->t->data, value_bytes(v));
        } else if (strcmp(a->name, "value_float") == 0 || strcmp(a->name, "value_int") == 0) {
            bool is_f = a->kind == ATTR_FLOAT;
            v = graph_add_constant(im->g, out, is_f ? DT_F32 : DT_I64, 0, &one);
            if (v && is_f)
                *(float *)v->data = a->f;
            else if (v)
                *(int64_t *)v->data = a->i;
        } else if (strcmp(a->name, "value_floats") == 0 || strcmp(a->name, "value_ints") == 0) {
            bool is_f = a->kind == ATTR_FLOATS;
            v = graph_add_constant(im->g, out, is_f ? DT_F32 : DT_I64, 1, &cnt);
            if (v)
                memcpy(v->data, is_f ? (const void *)a->floats : (const void *)a->ints,
                       (size_t)cnt * (is_f ? 4 : 8));
        } else {
            return diag_node(im->d, tmp, "attribute '%s' is not supported", a->name);
        }
    }
    if (!v)
        return diag_node(im->d, tmp, "has no value");
    return define(im, v);
}

static int import_opset(Importer *im, const Onnx__ModelProto *m)
{
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const char *dom = m->opset_import[i]->domain;
        if (!dom || !*dom || strcmp(dom, "ai.onnx") == 0)
            return (int)m->opset_import[i]->version;
    }
    (void)im;
    return 1;                   /* ONNX: no import for the default domain means opset 1 */
}

static bool import_nodes(Importer *im, const Onnx__GraphProto *gp)
{
    char unsupported[700] = "";
    size_t used = 0;
    int nbad = 0;
    /* Pass 1: ops, outputs and attributes. Inputs wait for pass 2: files need not list
     * nodes in topological order. */
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        const char *op_type = np->op_type ? np->op_type : "";
        const char *dom = np->domain ? np->domain : "";
        char made_up[32];
        OpKind op;
        snprintf(made_up, sizeof made_up, "#%zu", i);
        const char *name = np->name && *np->name ? np->name : made_up;
        bool known = (!*dom || strcmp(dom, "ai.onnx") == 0) && op_lookup(op_type, &op);
        if (!known || im->g->opset < op_info[op].min_opset) {
            int k = snprintf(unsupported + used, sizeof unsupported - used, "%s'%s' (%s%s%s)",
                             nbad ? ", " : "", name, *dom ? dom : "", *dom ? "." : "", op_type);
            if (k > 0 && used + (size_t)k < sizeof unsupported - 8)
                used += (size_t)k;
            nbad++;
            continue;
        }
        const OpInfo *info = &op_info[op];
        if ((int)np->n_input > info->max_in || (int)np->n_output < info->min_out ||
            (int)np->n_output > info->max_out) {
            Node tmp = { .op = op, .name = name, .opset = im->g->opset };
            return diag_node(im->d, &tmp, "has %zu inputs and %zu outputs; expected %d..%d "
                             "inputs and %d..%d outputs", np->n_input, np->n_output,
                             info->min_in, info->max_in, info->min_out, info->max_out);
        }
        Node *n = graph_add_node(im->g, op, name, (int)np->n_input, (int)np->n_output);
        if (!n)
            return diag_error(im->d, "out of memory");
        if (!import_attrs(im, n, np))
            return false;
        if (op == OP_CONSTANT) {
            n->dead = true;
            if (!import_constant(im, np, n))
                return false;
            continue;
        }
        for (int j = 0; j < n->nout; j++) {
            const char *oname = np->output[j] ? np->output[j] : "";
            if (!*oname)
                continue;       /* an optional output nobody wants */
            Value *v = graph_add_value(im->g, oname);
            if (!v)
                return diag_error(im->d, "out of memory");
            v->producer = n;
            n->out[j] = v;
            if (!define(im, v))
                return false;
        }
        if (!n->out[0])
            return diag_node(im->d, n, "has no output name");
        if (!node_decode_attrs(n, im->d))
            return false;
    }
    if (nbad)
        return diag_error(im->d, "%d node%s with unsupported operators (opset %d): %s%s",
                          nbad, nbad > 1 ? "s" : "", im->g->opset, unsupported,
                          used + 8 >= sizeof unsupported ? ", ..." : "");
    /* Pass 2: inputs. */
    int k = 0;
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        Node *n = im->g->nodes[k++];
        if (n->dead)
            continue;
        for (int j = 0; j < n->nin; j++) {
            const char *iname = np->input[j] ? np->input[j] : "";
            if (!*iname)
                continue;       /* an omitted optional input */
            Value *v = *map_find(&im->names, iname);
            if (!v)
                return diag_node(im->d, n, "input '%s' is not defined by any node, "
                                 "initializer or graph input", iname);
            n->in[j] = v;
        }
    }
    graph_compact(im->g);
    return true;
}

static bool import_graph(Importer *im, const Onnx__ModelProto *m)
{
    const Onnx__GraphProto *gp = m->graph;
    if (!gp)
        return diag_error(im->d, "the model has no graph");
    if (gp->n_node > MAX_NODES)
        return diag_error(im->d, "the graph has %zu nodes, more than the %d supported",
                          gp->n_node, MAX_NODES);
    size_t nnames = gp->n_initializer + gp->n_input + 1;
    for (size_t i = 0; i < gp->n_node; i++)
        nnames += gp->node[i]->n_output;
    im->names.cap = 64;
    while (im->names.cap < 2 * nnames)
        im->names.cap *= 2;
    im->names.slot = calloc(im->names.cap, sizeof(Value *));
    if (!im->names.slot)
        return diag_error(im->d, "out of memory");
    im->g->opset = import_opset(im, m);
    if (im->g->opset < 1 || im->g->opset > 22)
        return diag_error(im->d, "ONNX opset %d is not supported (1 to 22 are)", im->g->opset);
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const char *name = gp->initializer[i]->name ? gp->initializer[i]->name : "";
        Value *v = tensor_import(im->g, gp->initializer[i], name, im->dir, im->d);
        if (!v || !define(im, v))
            return false;
    }
    /* Graph inputs that name an initializer are defaults the user cannot override here. */
    im->g->inputs = ARENA_ARRAY(&im->g->arena, Value *, gp->n_input + 1);
    for (size_t i = 0; i < gp->n_input; i++) {
        const char *name = gp->input[i]->name ? gp->input[i]->name : "";
        if (*map_find(&im->names, name))
            continue;
        if (!import_input(im, gp->input[i], im->g->ninputs))
            return false;
        im->g->inputs[im->g->ninputs++] = *map_find(&im->names, name);
    }
    for (int i = 0; i < im->opt->nshapes; i++) {
        const char *nm = im->opt->shapes[i].name;
        bool found = !nm;
        for (int j = 0; nm && j < im->g->ninputs; j++)
            found |= strcmp(im->g->inputs[j]->name, nm) == 0;
        if (!found)
            return diag_error(im->d, "--input-shape names '%s', which is not a graph input",
                              nm);
    }
    if (!import_nodes(im, gp))
        return false;
    if (gp->n_output == 0)
        return diag_error(im->d, "the graph has no outputs");
    im->g->outputs = ARENA_ARRAY(&im->g->arena, Value *, gp->n_output);
    for (size_t i = 0; i < gp->n_output; i++) {
        const char *name = gp->output[i]->name ? gp->output[i]->name : "";
        Value *v = *map_find(&im->names, name);
        if (!v)
            return diag_error(im->d, "graph output '%s' is not produced by any node", name);
        im->g->outputs[im->g->noutputs++] = v;
    }
    graph_count_users(im->g);
    return graph_sort(im->g, im->d);
}

Graph *onnx_import_bytes(const uint8_t *data, size_t len, const char *path,
                         const ImportOptions *opt, Diag *d)
{
    ImportOptions none = {0};
    d->path = path;
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, data);
    if (!m) {
        diag_error(d, "not a valid ONNX model: the protobuf data is malformed or truncated");
        return NULL;
    }
    char *dir_buf = strdup(path);
    Graph *g = graph_new(path);
    Importer im = { .g = g, .d = d, .dir = dir_buf ? dirname(dir_buf) : ".",
                    .opt = opt ? opt : &none };
    bool ok = g && dir_buf && import_graph(&im, m);
    if (!g || !dir_buf)
        diag_error(d, "out of memory");
    free(im.names.slot);
    free(dir_buf);
    onnx__model_proto__free_unpacked(m, NULL);
    if (!ok) {
        graph_free(g);
        return NULL;
    }
    return g;
}

Graph *onnx_import(const char *path, const ImportOptions *opt, Diag *d)
{
    uint8_t *data = NULL;
    size_t len = 0;
    d->path = path;
    if (!read_file(path, &data, &len, d))
        return NULL;
    Graph *g = onnx_import_bytes(data, len, path, opt, d);
    free(data);
    return g;
}
