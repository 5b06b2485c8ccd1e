// Bun: `bun bun.mjs`
import { makeHandler } from "./handler.mjs";

const handler = makeHandler(Bun.env);
Bun.serve({ port: Number(Bun.env.PORT), hostname: "127.0.0.1", fetch: handler });
console.log("listening");
