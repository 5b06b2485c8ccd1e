/** The local Gemini WebhookService emulator: programmatic entry points. */
export { buildEmulatorApp, startEmulator } from "./app";
export type { BuiltEmulator, EmulatorOptions, RunningEmulator } from "./app";
export type { FaultConfigInput, FaultRule, RouteName } from "./faults";
export type { Resolver } from "./delivery/targets";
