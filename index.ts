/** The root Pulumi program: the quickstart stack (see examples/quickstart/program.ts). */
import { quickstart } from "./examples/quickstart/program";

const outputs = quickstart();
export const webhookId = outputs.webhookId;
export const currentSecret = outputs.currentSecret;
export const receiverSecrets = outputs.receiverSecrets;
export const rotatedAt = outputs.rotatedAt;
