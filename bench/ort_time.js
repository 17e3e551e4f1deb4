// Times one ONNX model with ONNX Runtime (onnxruntime-node, CPU, graph optimizations on).
// usage: node ort_time.js MODEL.onnx INPUT.npy THREADS RUNS [OUT.npy]
// Prints one JSON line: {"median": ms, "min": ms, "runs": n}. NODE_PATH must reach the
// folder where onnxruntime-node is installed (bench_models.py sets it).
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function readNpy(path) {
    const buf = fs.readFileSync(path);
    const hlen = buf.readUInt16LE(8);
    const header = buf.toString('latin1', 10, 10 + hlen);
    if (!/'descr':\s*'<f4'/.test(header) || /'fortran_order':\s*True/.test(header))
        throw new Error(`${path}: only little-endian float32 C-order arrays are supported`);
    const shape = header.match(/'shape':\s*\(([^)]*)\)/)[1].split(',')
        .map((s) => s.trim()).filter((s) => s.length).map(Number);
    const start = 10 + hlen;
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start,
                                                   buf.byteOffset + buf.length));
    return { shape, data };
}

function writeNpy(path, shape, data) {
    let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${
        shape.length === 1 ? ',' : ''}), }`;
    const pad = 64 - ((10 + header.length + 1) % 64);
    header += ' '.repeat(pad % 64) + '\n';
    const head = Buffer.alloc(10);
    head.write('\x93NUMPY', 0, 'latin1');
    head[6] = 1;
    head[7] = 0;
    head.writeUInt16LE(header.length, 8);
    fs.writeFileSync(path, Buffer.concat([head, Buffer.from(header, 'latin1'),
                                          Buffer.from(data.buffer, data.byteOffset,
                                                      data.byteLength)]));
}

async function main() {
    const [model, input, threads, runs, out] = process.argv.slice(2);
    const session = await ort.InferenceSession.create(model, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        intraOpNumThreads: Number(threads),
        interOpNumThreads: 1,
        executionMode: 'sequential',
        // ORT_PROFILE=PREFIX: ORT's own per-node timings into PREFIX_<date>.json
        ...(process.env.ORT_PROFILE ? { enableProfiling: true,
                                        profileFilePrefix: process.env.ORT_PROFILE } : {}),
    });
    const x = readNpy(input);
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape) };
    let result;
    for (let i = 0; i < 3; i++)                 // warm-up
        result = await session.run(feeds);
    const ms = [];
    for (let i = 0; i < Number(runs); i++) {
        const t0 = process.hrtime.bigint();
        result = await session.run(feeds);
        ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    ms.sort((a, b) => a - b);
    const n = ms.length;
    const median = n % 2 ? ms[(n - 1) / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
    if (out) {
        const y = result[session.outputNames[0]];
        writeNpy(out, y.dims, y.data);
    }
    if (process.env.ORT_PROFILE)
        session.endProfiling();
    console.log(JSON.stringify({ median, min: ms[0], runs: n }));
}

main().catch((e) => {
    console.error(String(e));
    process.exit(1);
});
