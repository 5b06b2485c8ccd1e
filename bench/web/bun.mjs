import { timeAll } from "./bench.mjs";
console.log(JSON.stringify(await timeAll(JSON.parse(Bun.env.DELIVERY), Number(Bun.env.N))));
