/** Reference (d): Fastify answering 200 after reading the raw body, no verification: the framework's floor. */
import Fastify from "fastify";

const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
app.post("/", async (_request, reply) => reply.type("application/json").send('{"status":"accepted"}'));
app.listen({ port: 0, host: "127.0.0.1" }).then(() => console.log(`listening ${(app.server.address() as { port: number }).port}`));
