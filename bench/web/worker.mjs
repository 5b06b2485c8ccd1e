// workerd: GET /?which=ours&n=5000 runs n verifications; the caller times the request from outside.
import { setup } from "./bench.mjs";

let runs;
export default {
  async fetch(request, env) {
    runs ??= await setup(JSON.parse(env.DELIVERY));
    const url = new URL(request.url);
    await runs[url.searchParams.get("which")](Number(url.searchParams.get("n")));
    return new Response("ok");
  },
};
