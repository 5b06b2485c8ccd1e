// Node: RedisDedup over ioredis (`node node.mjs`; IOREDIS is the client's entry file, REDIS_URL and DELIVERY in the environment).
import { RedisDedup } from "./web.mjs";
import { checkStore } from "./check.mjs";

const { default: Redis } = await import(process.env.IOREDIS);
const redis = new Redis(process.env.REDIS_URL);
const store = new RedisDedup((args) => redis.call(args[0], ...args.slice(1)));
console.log(JSON.stringify(await checkStore(store, JSON.parse(process.env.DELIVERY), { atOnce: true })));
redis.disconnect();
