/* libFuzzer target for the front half of cnnc: whatever bytes arrive are imported as an
 * ONNX model, then shape inference, every optimization pass, lowering and memory planning
 * run on the result. Every input must end in a graph or in a diagnostic: a crash, a leak,
 * a hang or undefined behaviour is a bug. External data is looked up in a folder that
 * does not exist, so inputs cannot reach the file system. */
#include <stddef.h>
#include <stdint.h>
#include "frontend/frontend.h"
#include "passes/passes.h"
#include "backend/schedule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Diag d = {0};
    ImportOptions io = {0};
    Graph *g = onnx_import_bytes(data, size, "/nonexistent-fuzz-dir/model.onnx", &io, &d);
    if (!g)
        return 0;
    PipelineOptions po = { .level = 3 };
    g->winograd = true;         /* as -O3: every pass and every kernel lowering may choose */
    if (pipeline_run(g, &po, &d)) {
        Schedule *s = schedule_lower(g, &d);
        if (s) {
            s->share_buffers = true;
            plan_memory(s, &d);
        }
        schedule_free(s);
    }
    graph_free(g);
    return 0;
}
