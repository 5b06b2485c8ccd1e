/** The emulator's own admin API under `/emulator/v1` (not part of Google's surface). */
import type { FastifyInstance } from "fastify";
import type { EmulatorContext } from "../context";
import { FaultConfigSchema } from "../faults";
import { invalidArgument } from "../google-error";

export function registerAdminRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  app.get("/emulator/v1/healthz", async () => ({ ok: true }));

  app.get("/emulator/v1/stats", async () => ({
    calls: ctx.metrics.calls,
    faults: ctx.faults.injected,
    webhooks: ctx.store.countWebhooks(),
    time_scale: ctx.clock.timeScale,
    now: ctx.clock.iso(),
  }));

  app.put("/emulator/v1/faults", async (request) => {
    const parsed = FaultConfigSchema.safeParse(request.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw invalidArgument(`Invalid fault configuration at '${issue.path.join(".")}': ${issue.message}.`);
    }
    ctx.faults.configure(parsed.data);
    return { faults: parsed.data };
  });
}
