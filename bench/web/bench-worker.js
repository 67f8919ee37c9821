// The browser benchmark's worker (bench/browser.ts serves it and drives the page). One worker per
// thread count, because onnxruntime-web fixes its thread count when its WASM first starts. For each
// configuration: our SparseModel (the bundle dist/web/sparse-rnn.js, kernels 'auto', `threads`
// threads) on the sparse and the dense .srnn, and onnxruntime-web (wasm EP, env.wasm.numThreads =
// threads, its files served from node_modules) on the ONNX model of the same weights. Outputs are
// compared first (ours sparse vs ORT, and both vs Node's output sent with the job), then the timers
// are interleaved sample by sample as bench/model.ts does.

const now = () => performance.now();
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const maxAbsDiff = (a, b) => {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const bytesOf = async (url) => {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
};

/** Median µs per timestep of each timer (interleaved rounds, rotating order; samples ≥ minMs). */
async function interleaved(timers, rounds, minMs) {
  for (const t of timers) {
    const w0 = now();
    for (let i = 0; i < 3 || now() - w0 < Math.max(10, minMs); i++) await t.call();
  }
  const samples = new Map(timers.map((t) => [t.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < timers.length; k++) {
      const t = timers[(r + k) % timers.length];
      const t0 = now();
      let n = 0;
      do {
        await t.call();
        n++;
      } while (now() - t0 < minMs);
      samples.get(t.name).push(((now() - t0) * 1000) / (n * t.steps));
    }
  }
  return Object.fromEntries([...samples].map(([k, v]) => [k, median(v)]));
}

// peer: 'after' (default) times onnxruntime-web after ours, each runtime's timers interleaved among themselves;
// 'interleaved' mixes its samples with ours, which slows our two-thread rows (bench/browser-threads-ab.ts);
// 'none' never loads it.
async function runJob({ threads, configs, rounds, minMs, peer = 'after' }) {
  const rt = await import('/rt/sparse-rnn.js');
  const ort = peer !== 'none' ? await import('/ort/ort.wasm.min.mjs') : null;
  if (ort) {
    ort.env.wasm.wasmPaths = new URL('/ort/', self.location.href).href;
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.proxy = false;
  }
  const results = [];
  for (const c of configs) {
    const [sparse, dense, onnx] = await Promise.all([bytesOf(c.sparseUrl), bytesOf(c.denseUrl), bytesOf(c.onnxUrl)]);
    const engine = await rt.createWebEngine({ kernels: 'auto', threads, poolWorkerUrl: '/rt/sparse-rnn-pool.js', heapBytes: 2 * (sparse.length + dense.length) + (32 << 20) });
    const sm = rt.SparseModel.load(sparse, { kernels: engine.kernels });
    const dm = rt.SparseModel.load(dense, { kernels: engine.kernels });
    // force_spinning_stop as for onnxruntime-node (bench/ort.ts): its threads spin inside a run, not after it,
    // where they would hold a core while our samples run.
    const sess = ort && await ort.InferenceSession.create(onnx, {
      executionProviders: ['wasm'], graphOptimizationLevel: 'all', executionMode: 'sequential', extra: { session: { force_spinning_stop: '1' } },
    });
    const { T, B, config } = c;
    const L = config.numLayers * (config.bidirectional ? 2 : 1);
    const ids = c.ids ? Int32Array.from(c.ids) : null;
    const x = c.x ? Float32Array.from(c.x) : null;
    const seq = ids ?? x;
    const one = ids ? ids.subarray(0, B) : x.subarray(0, B * config.inputSize);
    const ys = sm.run(seq, { batch: B }).slice();
    const yd = dm.run(seq, { batch: B });
    const node = Float32Array.from(c.nodeY);
    const timers = [
      { name: 'sparse', steps: T, call: () => sm.run(seq, { batch: B }) },
      { name: 'dense', steps: T, call: () => dm.run(seq, { batch: B }) },
    ];
    if (!config.bidirectional) {
      const st = sm.createState(B);
      timers.push({ name: 'step', steps: 1, call: () => sm.step(one, st) });
    }
    let yo = null;
    if (sess) {
      const feeds = {
        [ids ? 'ids' : 'x']: ids ? new ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [T, B]) : new ort.Tensor('float32', x, [T, B, config.inputSize]),
        h0: new ort.Tensor('float32', new Float32Array(L * B * config.hiddenSize), [L, B, config.hiddenSize]),
      };
      if (config.cell === 'lstm') feeds.c0 = new ort.Tensor('float32', new Float32Array(L * B * config.hiddenSize), [L, B, config.hiddenSize]);
      yo = (await sess.run(feeds)).logits.data;
      timers.push({ name: 'ort', steps: T, call: () => sess.run(feeds) });
      if (!config.bidirectional) {
        // ORT streaming: one timestep per session.run (zero state each call: the same work as a step).
        const feeds1 = { ...feeds };
        feeds1[ids ? 'ids' : 'x'] = ids
          ? new ort.Tensor('int64', BigInt64Array.from(one, (v) => BigInt(v)), [1, B])
          : new ort.Tensor('float32', one, [1, B, config.inputSize]);
        timers.push({ name: 'ortStep', steps: 1, call: () => sess.run(feeds1) });
      }
    }
    const ours = timers.filter((t) => !t.name.startsWith('ort')), theirs = timers.filter((t) => t.name.startsWith('ort'));
    const us = peer === 'interleaved' || theirs.length === 0 ? await interleaved(timers, rounds, minMs)
      : { ...(await interleaved(ours, rounds, minMs)), ...(await interleaved(theirs, rounds, minMs)) };
    results.push({
      id: c.id, engine: engine.describe(), us, diffDense: maxAbsDiff(ys, yd), diffNode: maxAbsDiff(ys, node),
      diffOrt: yo ? maxAbsDiff(ys, yo) : Number.NaN, diffOrtNode: yo ? maxAbsDiff(yo, node) : Number.NaN,
    });
    await sess?.release();
    await engine.close();
  }
  return { results, isolated: self.crossOriginIsolated, ortVersion: ort ? ort.env.versions?.web ?? ort.env.versions?.common ?? '' : '', userAgent: navigator.userAgent };
}

self.onmessage = (ev) => {
  runJob(ev.data).then(
    (r) => self.postMessage({ ok: true, ...r }),
    (e) => self.postMessage({ ok: false, error: String(e?.stack ?? e) }),
  );
};
