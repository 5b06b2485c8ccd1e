import { timeAll } from "./bench.mjs";
console.log(JSON.stringify(await timeAll(JSON.parse(Deno.env.get("DELIVERY")), Number(Deno.env.get("N")))));
