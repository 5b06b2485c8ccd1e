/**
 * The emulator's clock. With `timeScale` N, emulated time runs N times faster than real time
 * (3600: the 24 h retry window and rotation grace pass in 24 s), so tests cover whole windows.
 */
export class Clock {
  readonly #realStart = Date.now();
  readonly #emulatedStart: number;

  constructor(readonly timeScale = 1) {
    if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw new TypeError("timeScale must be a positive number");
    this.#emulatedStart = this.#realStart;
  }

  /** Emulated epoch milliseconds. */
  now(): number {
    return this.#emulatedStart + (Date.now() - this.#realStart) * this.timeScale;
  }

  /** Real milliseconds until emulated time `at` (0 if past). */
  realDelayUntil(at: number): number {
    return Math.max(0, (at - this.now()) / this.timeScale);
  }

  iso(ms: number = this.now()): string {
    return new Date(ms).toISOString();
  }
}
