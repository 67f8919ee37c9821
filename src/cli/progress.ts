// Progress output: a live bar on a terminal (cli-progress), periodic plain lines otherwise
// (CI logs, pipes), so long runs always show where they are.

import cliProgress from 'cli-progress';

export interface Progress {
  start(total: number, label: string): void;
  update(value: number, fields: Record<string, string>): void;
  stop(): void;
  log(line: string): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr, quiet = false): Progress {
  if (quiet) return { start() {}, update() {}, stop() {}, log: (l) => stream.write(l + '\n') };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar({
      format: '{label} |{bar}| {value}/{total} {info}',
      barsize: 24, hideCursor: true, clearOnComplete: false, stream, fps: 5,
    }, cliProgress.Presets.shades_classic);
    let active = false;
    return {
      start(total, label) { bar.start(total, 0, { label, info: '' }); active = true; },
      update(value, fields) { bar.update(value, { info: Object.entries(fields).map(([k, v]) => `${k} ${v}`).join(' · ') }); },
      stop() { if (active) bar.stop(); active = false; },
      log(line) { if (active) { bar.stop(); stream.write(line + '\n'); active = false; } else stream.write(line + '\n'); },
    };
  }
  let total = 1, label = '', lastPct = -1, lastTime = 0;
  return {
    start(t, l) { total = t; label = l; lastPct = -1; lastTime = 0; },
    update(value, fields) {
      const pct = Math.floor((100 * value) / total), now = Date.now();
      if (pct >= lastPct + 10 || now - lastTime > 30000 || value === total) {
        lastPct = pct; lastTime = now;
        stream.write(`${label} ${value}/${total} ${Object.entries(fields).map(([k, v]) => `${k} ${v}`).join(' · ')}\n`);
      }
    },
    stop() {},
    log(line) { stream.write(line + '\n'); },
  };
}
