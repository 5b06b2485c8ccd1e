// Bun: RedisDedup over Bun's own Redis client (`bun bun.mjs`, REDIS_URL and DELIVERY in the environment).
import { RedisClient } from "bun";
import { RedisDedup } from "./web.mjs";
import { checkStore } from "./check.mjs";

const redis = new RedisClient(Bun.env.REDIS_URL);
const store = new RedisDedup((args) => redis.send(args[0], args.slice(1)));
console.log(JSON.stringify(await checkStore(store, JSON.parse(Bun.env.DELIVERY), { atOnce: true })));
redis.close();
