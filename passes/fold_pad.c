/* fold_pad: a zero Pad of the two spatial axes in front of a Conv becomes the Conv's own
 * padding, saving a copy of the padded tensor. An AveragePool may take it too, as padding
 * it counts (count_include_pad=1): the padded zeros were averaged in. That needs the pool
 * to have no padding of its own that it does not count (torch writes avg_pool2d's padding
 * as such a Pad, with an unpadded pool after it). */
#include "passes.h"
#include "rewrite.h"

static bool spatial_zero_pad(const Node *pad)
{
    const PadAttr *p = &pad->a.pad;
    const Value *x = pad->in[0];
    if (x->rank != 4 || p->mode != RT_PAD_CONSTANT || p->value != 0.0f || p->n != 8)
        return false;
    return p->pads[0] == 0 && p->pads[1] == 0 && p->pads[4] == 0 && p->pads[5] == 0;
}

bool pass_fold_pad(Graph *g, PassCtx *c)
{
    int folded = 0;
    graph_count_users(g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *pad = g->nodes[i];
        if (pad->dead || pad->op != OP_PAD || !spatial_zero_pad(pad))
            continue;
        Node *u = sole_user(g, pad->out[0]);
        if (!u || u->in[0] != pad->out[0] || !(u->op == OP_CONV || u->op == OP_AVGPOOL) ||
            u->pre.on)
            continue;           /* a scaled input: its padding would be scaled too */
        const int64_t *wp = u->a.win.pad;
        bool unpadded_pool = !wp[0] && !wp[1] && !wp[2] && !wp[3];
        if (u->op == OP_AVGPOOL && !u->a.win.count_include_pad && !unpadded_pool)
            continue;           /* its own padding must stay uncounted */
        const int64_t *pp = pad->a.pad.pads;    /* begins N C H W, then ends N C H W */
        WindowAttr *w = &u->a.win;
        if (u->op == OP_AVGPOOL && (w->ceil_mode ||   /* ceil's rule looks at the pad */
            w->pad[0] + pp[2] >= w->kernel[0] || w->pad[1] + pp[3] >= w->kernel[1] ||
            w->pad[2] + pp[6] >= w->kernel[0] || w->pad[3] + pp[7] >= w->kernel[1]))
            continue;           /* pooling pads must stay smaller than the window */
        w->pad[0] += pp[2];
        w->pad[1] += pp[3];
        w->pad[2] += pp[6];
        w->pad[3] += pp[7];
        if (u->op == OP_AVGPOOL)
            u->a.win.count_include_pad = true;  /* the Pad's zeros were averaged in */
        u->in[0] = pad->in[0];
        pad->dead = true;
        folded++;
    }
    if (folded)
        graph_compact(g);
    c->count = folded;
    snprintf(c->what, sizeof c->what, "Pad folded into Conv/AveragePool padding");
    return folded > 0;
}
