// Progress output: a live one-line bar on a terminal, cut to its width, with elapsed time and ETA;
// periodic plain lines otherwise (CI logs, pipes), so long runs always show where they are.
// --quiet shows neither (errors and the final results only).

export interface Progress {
  start(total: number, label: string): void;
  update(value: number, fields: Record<string, string>): void;
  stop(): void;
  /** A line that is always printed (results, warnings). */
  log(line: string): void;
  /** A line printed unless --quiet (progress notes such as the pruner's updates). */
  info(line: string): void;
}

/** 75 → "1:15", 3725 → "1:02:05". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = (x: number): string => String(x).padStart(2, '0');
  return h ? `${h}:${two(m)}:${two(r)}` : `${m}:${two(r)}`;
}

/** One progress line, at most `width` characters: label, bar, count, elapsed, ETA, then the fields. */
export function formatProgressLine(o: { label: string; value: number; total: number; elapsedSec: number; fields: Record<string, string>; width: number; bar?: boolean }): string {
  const frac = o.total > 0 ? Math.min(1, o.value / o.total) : 0;
  const eta = o.value > 0 ? (o.elapsedSec * (o.total - o.value)) / o.value : NaN;
  const bar = o.bar === false ? '' : ` |${'█'.repeat(Math.round(frac * 20)).padEnd(20, '░')}|`;
  const info = Object.entries(o.fields).map(([k, v]) => `${k} ${v}`).join(' · ');
  const line = `${o.label}${bar} ${o.value}/${o.total} ${formatDuration(o.elapsedSec)} elapsed, ETA ${formatDuration(eta)}${info ? ` · ${info}` : ''}`;
  return line.length > o.width ? line.slice(0, Math.max(0, o.width - 1)) + '…' : line;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr, quiet = false): Progress {
  const write = (l: string): void => void stream.write(l + '\n');
  if (quiet) return { start() {}, update() {}, stop() {}, log: write, info() {} };
  let total = 1, label = '', t0 = 0, lastDraw = 0, lastPct = -1, active = false;
  const elapsed = (): number => (performance.now() - t0) / 1000;
  if (stream.isTTY) {
    const clear = (): void => void (active && stream.write('\r\x1b[K'));
    return {
      start(t, l) { total = t; label = l; t0 = performance.now(); lastDraw = 0; active = true; },
      update(value, fields) {
        const now = performance.now();
        if (now - lastDraw < 200 && value < total) return;
        lastDraw = now;
        const width = Math.max(20, (stream.columns ?? 80) - 1);
        stream.write(`\r\x1b[K${formatProgressLine({ label, value, total, elapsedSec: elapsed(), fields, width })}`);
      },
      stop() { if (active) stream.write('\n'); active = false; },
      log(line) { clear(); write(line); lastDraw = 0; },
      info(line) { clear(); write(line); lastDraw = 0; },
    };
  }
  return {
    start(t, l) { total = t; label = l; t0 = performance.now(); lastPct = -1; lastDraw = 0; },
    update(value, fields) {
      const pct = Math.floor((100 * value) / total), now = performance.now();
      if (pct >= lastPct + 10 || now - lastDraw > 30000 || value === total) {
        lastPct = pct; lastDraw = now;
        write(formatProgressLine({ label, value, total, elapsedSec: elapsed(), fields, width: 400, bar: false }));
      }
    },
    stop() {},
    log: write,
    info: write,
  };
}
