import { timeAll } from "./bench.mjs";
console.log(JSON.stringify(await timeAll(JSON.parse(process.env.DELIVERY), Number(process.env.N))));
