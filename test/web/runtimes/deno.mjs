// Deno: `deno run --allow-net --allow-env deno.mjs`
import { makeHandler } from "./handler.mjs";

const handler = makeHandler(Deno.env.toObject());
Deno.serve({ port: Number(Deno.env.get("PORT")), hostname: "127.0.0.1", onListen: () => console.log("listening") }, handler);
