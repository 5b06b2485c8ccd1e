/** The quickstart stack's entry (Pulumi.yaml runs its build, bin/index.js): the outputs of program.ts. */
import { quickstart } from "./program";

const outputs = quickstart();
export const webhookId = outputs.webhookId;
export const currentSecret = outputs.currentSecret;
export const receiverSecrets = outputs.receiverSecrets;
export const rotatedAt = outputs.rotatedAt;
