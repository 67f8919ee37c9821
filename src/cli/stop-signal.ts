// Ctrl-C / SIGTERM during training: the first asks the run to stop after the current step (it then
// saves a checkpoint); a second one exits at once.

import type { Progress } from './progress.js';

export function stopOnSignals(progress: Progress): { signal: { stop: boolean }; dispose: () => void } {
  const signal = { stop: false };
  const onSig = (): void => {
    if (signal.stop) process.exit(130);
    signal.stop = true;
    progress.log('stopping after this step and saving a checkpoint (Ctrl-C again to abort)…');
  };
  process.on('SIGINT', onSig);
  process.on('SIGTERM', onSig);
  return { signal, dispose: () => (process.off('SIGINT', onSig), process.off('SIGTERM', onSig)) };
}
