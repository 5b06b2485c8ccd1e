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
