// Cloudflare Workers (workerd): the bindings are the environment.
import { makeHandler } from "./handler.mjs";

let handler;
export default {
  fetch(request, env) {
    handler ??= makeHandler(env);
    return handler(request);
  },
};
