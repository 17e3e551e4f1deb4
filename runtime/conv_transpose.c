/* ConvTranspose (2-D), computed as a gather: each output pixel sums the input pixels whose
 * strided, dilated kernel footprint covers it. Weights are [C, M/group, KH, KW]. */
#include "rt.h"

/* t: y x w bias(or NULL); p: N C H W M OH OW KH KW SH SW PT PL DH DW G */
RT_API void rt_conv_transpose_f32(void *const *t, const int64_t *p, const float *f)
{
    float *y = t[0];
    const float *x = t[1], *w = t[2], *bias = t[3];
    int64_t nb = p[0], c = p[1], h = p[2], wd = p[3], m = p[4], oh = p[5], ow = p[6];
    int64_t kh = p[7], kw = p[8], sh = p[9], sw = p[10], pt = p[11], pl = p[12];
    int64_t dh = p[13], dw = p[14], g = p[15], cg = c / g, mg = m / g, nm;
    (void)f;
    #pragma omp parallel for schedule(static)
    for (nm = 0; nm < nb * m; nm++) {
        int64_t b = nm / m, oc = nm % m, grp = oc / mg, ocg = oc % mg, i, j, ci, a, e;
        float *yo = y + nm * oh * ow;
        for (i = 0; i < oh; i++)
            for (j = 0; j < ow; j++) {
                float acc = bias ? bias[oc] : 0.0f;
                for (ci = grp * cg; ci < (grp + 1) * cg; ci++) {
                    const float *xc = x + (b * c + ci) * h * wd;
                    const float *wc = w + (ci * mg + ocg) * kh * kw;
                    for (a = 0; a < kh; a++) {
                        int64_t ti = i + pt - a * dh, ih;
                        if (ti < 0 || ti % sh)
                            continue;
                        if ((ih = ti / sh) >= h)
                            continue;
                        for (e = 0; e < kw; e++) {
                            int64_t tj = j + pl - e * dw, iw;
                            if (tj < 0 || tj % sw || (iw = tj / sw) >= wd)
                                continue;
                            acc += xc[ih * wd + iw] * wc[a * kw + e];
                        }
                    }
                }
                yo[i * ow + j] = acc;
            }
    }
}
