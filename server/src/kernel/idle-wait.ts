/**
 * The idle wait of a background loop that follows the ledger (the projector, the webhook feed):
 * sleep up to `ms`, or less if `wake()` is called, e.g. by an append in this process.
 */
export class IdleWait {
  private wakeUp: (() => void) | undefined;

  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wakeUp = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}
