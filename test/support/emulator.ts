/** Test helpers around a real emulator listening on a loopback port. */
import { startEmulator, EmulatorOptions, RunningEmulator } from "gemini-webhooks-emulator";

export const TEST_API_KEY = "test-key-" + "0123456789abcdef";

export async function withEmulator<T>(
  options: EmulatorOptions,
  body: (emulator: RunningEmulator) => Promise<T>,
): Promise<T> {
  const emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY, ...options });
  try {
    return await body(emulator);
  } finally {
    await emulator.close();
  }
}

/** The API calls `step` made to `emulator`, by method (methods it did not call left out). */
export async function callsDuring(emulator: RunningEmulator, step: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = { ...emulator.ctx.metrics.calls };
  await step();
  return Object.fromEntries(
    Object.entries(emulator.ctx.metrics.calls)
      .filter(([method, n]) => n !== before[method as keyof typeof before])
      .map(([method, n]) => [method, n - before[method as keyof typeof before]]),
  );
}
