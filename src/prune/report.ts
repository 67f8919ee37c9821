// Sparsity reports (a per-tensor table, JSON) and a small dependency-free SVG line-chart writer
// for the paper's Figure 1 (loss curves) and Figure 2 (sparsity against iteration).

export interface ReportRow {
  name: string;
  kind?: string;
  shape: number[];
  /** Number of weights. */
  size: number;
  /** Non-zero weights (exact zeros are pruned). */
  nnz: number;
  sparsity: number;
  /** The threshold last used on this tensor (Narang ε, or the magnitude cut of hard/AGP/one-shot); null if none. */
  epsilon: number | null;
  pruned: boolean;
  /** 4 bytes per weight. */
  denseBytes: number;
  /** CSR: fp32 values + column indices (uint16 when cols ≤ 65536, else uint32) + int32 row pointers. */
  sparseBytes: number;
}

/** Rows × columns of a tensor seen as a matrix: [n] → 1 × n, [a, b, c…] → a × (b·c…). */
export function matrixDims(shape: readonly number[]): [number, number] {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [1, shape[0]];
  return [shape[0], shape.slice(1).reduce((a, b) => a * b, 1)];
}

/** Bytes of a CSR matrix: 4·nnz values + (2 or 4)·nnz column indices + 4·(rows + 1) row pointers. */
export function csrBytes(rows: number, cols: number, nnz: number): number {
  return 4 * nnz + (cols <= 65536 ? 2 : 4) * nnz + 4 * (rows + 1);
}

export function countNonZeros(w: ArrayLike<number>): number {
  let nz = 0;
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) nz++;
  return nz;
}

/** One report row for a tensor's weights. */
export function tensorReportRow(
  name: string,
  shape: number[],
  data: ArrayLike<number>,
  opts: { epsilon?: number | null; kind?: string; pruned?: boolean } = {},
): ReportRow {
  const size = data.length;
  const nnz = countNonZeros(data);
  const [rows, cols] = matrixDims(shape);
  const row: ReportRow = {
    name,
    shape: [...shape],
    size,
    nnz,
    sparsity: size ? 1 - nnz / size : 0,
    epsilon: opts.epsilon ?? null,
    pruned: opts.pruned ?? false,
    denseBytes: 4 * size,
    sparseBytes: csrBytes(rows, cols, nnz),
  };
  if (opts.kind !== undefined) row.kind = opts.kind;
  return row;
}

export interface ReportTotals {
  size: number;
  nnz: number;
  sparsity: number;
  denseBytes: number;
  sparseBytes: number;
  /** The same over pruned tensors only. */
  pruned: { size: number; nnz: number; sparsity: number };
}

export function reportTotals(rows: readonly ReportRow[]): ReportTotals {
  const t = { size: 0, nnz: 0, denseBytes: 0, sparseBytes: 0 };
  const p = { size: 0, nnz: 0 };
  for (const r of rows) {
    t.size += r.size;
    t.nnz += r.nnz;
    t.denseBytes += r.denseBytes;
    t.sparseBytes += r.sparseBytes;
    if (r.pruned) {
      p.size += r.size;
      p.nnz += r.nnz;
    }
  }
  return {
    ...t,
    sparsity: t.size ? 1 - t.nnz / t.size : 0,
    pruned: { ...p, sparsity: p.size ? 1 - p.nnz / p.size : 0 },
  };
}

/** The report as a JSON-serialisable object: rows plus totals. */
export function reportJson(rows: readonly ReportRow[]): { rows: ReportRow[]; totals: ReportTotals } {
  return { rows: rows.map((r) => ({ ...r, shape: [...r.shape] })), totals: reportTotals(rows) };
}

function fmtBytes(b: number): string {
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${(b / 1024 / 1024).toFixed(2)} MiB`;
}

function fmtEps(e: number | null): string {
  if (e === null) return '-';
  return e === 0 ? '0' : e.toPrecision(4);
}

/** A fixed-width text table of the rows with a total line. */
export function formatReportTable(rows: readonly ReportRow[]): string {
  const head = ['tensor', 'shape', 'size', 'nnz', 'sparsity', 'epsilon', 'dense', 'CSR'];
  const body = rows.map((r) => [
    r.name + (r.pruned ? '' : ' (dense)'),
    r.shape.join('x'),
    String(r.size),
    String(r.nnz),
    `${(100 * r.sparsity).toFixed(2)}%`,
    fmtEps(r.epsilon),
    fmtBytes(r.denseBytes),
    fmtBytes(r.sparseBytes),
  ]);
  const t = reportTotals(rows);
  const foot = [
    'total',
    '',
    String(t.size),
    String(t.nnz),
    `${(100 * t.sparsity).toFixed(2)}%`,
    '',
    fmtBytes(t.denseBytes),
    fmtBytes(t.sparseBytes),
  ];
  const all = [head, ...body, foot];
  const width = head.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: string[]): string => r.map((x, c) => (c === 0 ? x.padEnd(width[c]) : x.padStart(width[c]))).join('  ').trimEnd();
  const rule = width.map((w) => '-'.repeat(w)).join('  ');
  const out = [line(head), rule, ...body.map(line), rule, line(foot)];
  if (t.pruned.size)
    out.push(`pruned tensors: ${t.pruned.nnz} of ${t.pruned.size} weights kept, sparsity ${(100 * t.pruned.sparsity).toFixed(2)}%`);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// SVG line plot

export interface PlotSeries {
  name: string;
  points: [number, number][];
}

export interface LinePlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: PlotSeries[];
  width?: number;
  height?: number;
  /** Force the y range (e.g. [0, 1] for sparsity). */
  yMin?: number;
  yMax?: number;
  /** Series on a second y axis (right side, dashed), e.g. sparsity next to validation loss. */
  y2?: { label: string; series: PlotSeries[]; min?: number; max?: number };
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** "Nice" tick values (1, 2, 5 × 10^k steps) covering [lo, hi], about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function fmtTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(6)));
}

/** A self-contained SVG line chart: axes, nice ticks, grid, title, axis labels and a legend. */
export function svgLinePlot(spec: LinePlotSpec): string {
  const W = spec.width ?? 640;
  const H = spec.height ?? 400;
  const m = { left: 70, right: spec.y2 ? 70 : 20, top: 36, bottom: 52 };
  const finite = (ss: PlotSeries[]): PlotSeries[] => ss.map((s) => ({ ...s, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)) }));
  const series = finite(spec.series);
  const right = finite(spec.y2?.series ?? []);
  const xs = [...series, ...right].flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  let x0 = xs.length ? Math.min(...xs) : 0;
  let x1 = xs.length ? Math.max(...xs) : 1;
  let y0 = spec.yMin ?? (ys.length ? Math.min(...ys) : 0);
  let y1 = spec.yMax ?? (ys.length ? Math.max(...ys) : 1);
  if (x1 === x0) {
    x0 -= 0.5;
    x1 += 0.5;
  }
  if (y1 === y0) {
    const d = Math.abs(y0) * 0.1 || 0.5;
    y0 -= d;
    y1 += d;
  }
  const xt = niceTicks(x0, x1, 6);
  const yt = niceTicks(y0, y1, 5);
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const X = (x: number): number => m.left + ((x - x0) / (x1 - x0)) * pw;
  const Y = (y: number): number => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const f = (v: number): string => v.toFixed(2);
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  o.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  o.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="15">${esc(spec.title)}</text>`);
  for (const t of yt) {
    o.push(`<line x1="${f(m.left)}" y1="${f(Y(t))}" x2="${f(m.left + pw)}" y2="${f(Y(t))}" stroke="#e5e5e5"/>`);
    o.push(`<text x="${m.left - 6}" y="${f(Y(t) + 4)}" text-anchor="end">${fmtTick(t)}</text>`);
  }
  for (const t of xt) {
    o.push(`<line x1="${f(X(t))}" y1="${f(m.top)}" x2="${f(X(t))}" y2="${f(m.top + ph)}" stroke="#f0f0f0"/>`);
    o.push(`<line x1="${f(X(t))}" y1="${f(m.top + ph)}" x2="${f(X(t))}" y2="${f(m.top + ph + 5)}" stroke="black"/>`);
    o.push(`<text x="${f(X(t))}" y="${f(m.top + ph + 18)}" text-anchor="middle">${fmtTick(t)}</text>`);
  }
  o.push(`<path d="M${m.left},${m.top}V${m.top + ph}H${m.left + pw}" fill="none" stroke="black"/>`);
  o.push(`<text x="${m.left + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  o.push(`<text x="16" y="${m.top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${m.top + ph / 2})">${esc(spec.yLabel)}</text>`);
  o.push(`<g clip-path="url(#plot)"><clipPath id="plot"><rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}"/></clipPath>`);
  series.forEach((s, i) => {
    if (!s.points.length) return;
    const c = PALETTE[i % PALETTE.length];
    const d = s.points.map(([x, y], j) => `${j ? 'L' : 'M'}${f(X(x))},${f(Y(y))}`).join('');
    o.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="1.8"><title>${esc(s.name)}</title></path>`);
    if (s.points.length === 1) o.push(`<circle cx="${f(X(s.points[0][0]))}" cy="${f(Y(s.points[0][1]))}" r="3" fill="${c}"/>`);
  });
  if (spec.y2) {
    // The second axis: its own range, ticks on the right, dashed lines.
    const rys = right.flatMap((s) => s.points.map((p) => p[1]));
    let r0 = spec.y2.min ?? (rys.length ? Math.min(...rys) : 0);
    let r1 = spec.y2.max ?? (rys.length ? Math.max(...rys) : 1);
    if (r1 === r0) {
      r0 -= 0.5;
      r1 += 0.5;
    }
    const Y2 = (y: number): number => m.top + ph - ((y - r0) / (r1 - r0)) * ph;
    right.forEach((s, j) => {
      if (!s.points.length) return;
      const c = PALETTE[(series.length + j) % PALETTE.length];
      const d = s.points.map(([x, y], k) => `${k ? 'L' : 'M'}${f(X(x))},${f(Y2(y))}`).join('');
      o.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="1.8" stroke-dasharray="6 3"><title>${esc(s.name)}</title></path>`);
    });
    o.push('</g>');
    o.push(`<path d="M${m.left + pw},${m.top}V${m.top + ph}" fill="none" stroke="black"/>`);
    for (const t of niceTicks(r0, r1, 5)) o.push(`<text x="${m.left + pw + 6}" y="${f(Y2(t) + 4)}" text-anchor="start">${fmtTick(t)}</text>`);
    const rx = W - 14;
    o.push(`<text x="${rx}" y="${m.top + ph / 2}" text-anchor="middle" transform="rotate(90 ${rx} ${m.top + ph / 2})">${esc(spec.y2.label)}</text>`);
  } else o.push('</g>');
  // Legend, top right inside the plot (second-axis series dashed).
  const legend = [...series.map((s) => ({ name: s.name, dash: false })), ...right.map((s) => ({ name: `${s.name} (right axis)`, dash: true }))];
  const lw = Math.max(...legend.map((s) => s.name.length), 1) * 7 + 34;
  const lx = m.left + pw - lw - 6;
  if (legend.length) {
    o.push(`<rect x="${lx}" y="${m.top + 6}" width="${lw}" height="${legend.length * 18 + 6}" fill="white" fill-opacity="0.85" stroke="#999"/>`);
    legend.forEach((s, i) => {
      const y = m.top + 18 + i * 18;
      const c = PALETTE[i % PALETTE.length];
      o.push(`<line x1="${lx + 6}" y1="${y - 4}" x2="${lx + 26}" y2="${y - 4}" stroke="${c}" stroke-width="2"${s.dash ? ' stroke-dasharray="6 3"' : ''}/>`);
      o.push(`<text x="${lx + 30}" y="${y}">${esc(s.name)}</text>`);
    });
  }
  o.push('</svg>');
  return o.join('\n') + '\n';
}

/** A small ASCII line plot of one series (for terminals). */
export function asciiLinePlot(points: readonly [number, number][], opts: { width?: number; height?: number; xLabel?: string; yLabel?: string } = {}): string {
  const W = opts.width ?? 60;
  const H = opts.height ?? 12;
  if (!points.length) return '(no points)';
  const xs = points.map((p) => p[0]);
  const ys = points.map((p) => p[1]);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const y0 = Math.min(0, ...ys);
  const y1 = Math.max(...ys) || 1;
  const grid = Array.from({ length: H }, () => Array<string>(W).fill(' '));
  for (const [x, y] of points) {
    const c = x1 === x0 ? 0 : Math.round(((x - x0) / (x1 - x0)) * (W - 1));
    const r = H - 1 - Math.round(((y - y0) / (y1 - y0 || 1)) * (H - 1));
    grid[r][c] = '*';
  }
  const yl = [y1, y0].map((v) => v.toPrecision(3));
  const pad = Math.max(...yl.map((s) => s.length));
  const lines = grid.map((row, r) => `${(r === 0 ? yl[0] : r === H - 1 ? yl[1] : '').padStart(pad)} |${row.join('').trimEnd()}`);
  lines.push(`${' '.repeat(pad)} +${'-'.repeat(W)}`);
  const xl = `${x0}`;
  const xr = `${x1}`;
  lines.push(`${' '.repeat(pad + 2)}${xl}${' '.repeat(Math.max(1, W - xl.length - xr.length))}${xr}`);
  if (opts.xLabel || opts.yLabel) lines.push(`${' '.repeat(pad + 2)}${opts.yLabel ?? 'y'} against ${opts.xLabel ?? 'x'}`);
  return lines.join('\n');
}
