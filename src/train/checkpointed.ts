// The part of a training run that every task shares: checkpoint after every epoch, stop on request
// after the current step (Ctrl-C), and save once more when stopped early so `--resume` continues.

/** What a task's trainer offers (the char-LM Trainer and the SpeechTrainer both do). */
export interface CheckpointableTrainer {
  onStep(f: () => void): void;
  onEpoch(f: () => Promise<void> | void): void;
  requestStop(): void;
  run(): Promise<boolean>;
  readonly state: { itr: number };
}

/** Runs `trainer` to the end or until `signal.stop`; returns whether all epochs completed. */
export async function runCheckpointed(trainer: CheckpointableTrainer, save: () => Promise<void>,
  o: { checkpoint: string; signal?: { stop: boolean } }, log: (s: string) => void): Promise<boolean> {
  trainer.onEpoch(save);
  const signal = o.signal;
  if (signal) trainer.onStep(() => void (signal.stop && trainer.requestStop()));
  const completed = await trainer.run();
  if (!completed) {
    await save();
    log(`interrupted: checkpoint saved to ${o.checkpoint} at iteration ${trainer.state.itr}; continue with --resume`);
  }
  return completed;
}
