/** What every emulator route shares. */
import type { Clock } from "./clock";
import type { FaultInjector, RouteName } from "./faults";
import type { DeliveryEngine } from "./delivery/engine";
import type { JobRunner } from "./jobs";
import type { EmulatorStore } from "./store";

export interface EmulatorContext {
  store: EmulatorStore;
  clock: Clock;
  faults: FaultInjector;
  /** When undefined, any non-empty key is accepted. */
  apiKey?: string;
  deliveries: DeliveryEngine;
  jobs: JobRunner;
  /** API calls that reached a handler, failed ones included (injected 429/503 excluded), per route. */
  metrics: { calls: Record<RouteName, number> };
}
