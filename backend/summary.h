/* --summary: the per-layer table and the memory figures of a planned schedule. */
#ifndef CNNC_SUMMARY_H
#define CNNC_SUMMARY_H
#include <stdio.h>
#include "schedule.h"

int64_t step_flops(const Step *st);     /* multiply-adds count as 2 */
void summary_print(FILE *f, const Schedule *s);
#endif
